package sequence

import (
	"context"
	"errors"
	"time"

	"github.com/nurture-email/nurture"
)

// Signal acts on one sequence signal: Signals of one.
func (e *Engine) Signal(ctx context.Context, s nurture.SequenceSignal) error {
	errs, err := e.signals(ctx, []nurture.SequenceSignal{s})
	if err != nil {
		return err
	}
	return errs[0]
}

// Signals acts on sequence signals and returns the ids of those it acted
// on: an event enrolls the contact in the sequences it triggers (entry
// rules permitting) and wakes the enrollments waiting on it; a change of
// traits enrolls them in the sequences whose trigger condition now holds
// and wakes those waiting on traits; an opt-out from a topic wakes the
// enrollments of that topic, which then exit; a person's open or click
// wakes those waiting on engagement. Enrolling goes contact by contact
// (entry rules are per contact), the wakes of all the signals go in two
// statements. A signal whose enrolling failed is logged and left out, to
// be tried again when its lease runs out.
func (e *Engine) Signals(ctx context.Context, sigs []nurture.SequenceSignal) (done []int64, err error) {
	errs, err := e.signals(ctx, sigs)
	if err != nil {
		return nil, err
	}
	for i, s := range sigs {
		if errs[i] != nil {
			e.cfg.Logger.Warn("sequence signal", "signal_id", s.ID, "contact_id", s.ContactID, "kind", s.Kind, "err", errs[i])
			continue
		}
		done = append(done, s.ID)
	}
	return done, nil
}

// signals enrolls for each signal, reporting its error, then wakes for all
// those that enrolled without one; err is the wakes'.
func (e *Engine) signals(ctx context.Context, sigs []nurture.SequenceSignal) (errs []error, err error) {
	now := e.cfg.Clock.Now().UTC()
	errs = make([]error, len(sigs))
	var (
		contacts, topicContacts []int64
		keys                    []string
		topics                  []nurture.Topic
	)
	for i, s := range sigs {
		var key string
		switch s.Kind {
		case nurture.SignalEvent:
			errs[i] = e.enrollOnEvent(ctx, s)
			key = nurture.WakeEvent(nurture.EventKey(s.Name))
		case nurture.SignalTraits:
			errs[i] = e.enrollOnTraits(ctx, s, now)
			key = nurture.WakeTraits
		case nurture.SignalHits:
			key = nurture.WakeHits
		case nurture.SignalTopic:
			topicContacts, topics = append(topicContacts, s.ContactID), append(topics, nurture.Topic(s.Name))
		default:
			errs[i] = errors.New("unknown sequence signal " + string(s.Kind))
		}
		if errs[i] == nil && key != "" {
			contacts, keys = append(contacts, s.ContactID), append(keys, key)
		}
	}
	if _, err := e.cfg.Store.WakeEnrollmentsBatch(ctx, contacts, keys, now); err != nil {
		return nil, err
	}
	if _, err := e.cfg.Store.WakeTopicEnrollmentsBatch(ctx, topicContacts, topics, now); err != nil {
		return nil, err
	}
	return errs, nil
}

// enrollOnEvent enrolls the contact in the sequences the event triggers.
func (e *Engine) enrollOnEvent(ctx context.Context, s nurture.SequenceSignal) error {
	for _, seq := range e.cfg.Sequences.TriggeredBy(s.Name, s.Properties) {
		if _, _, err := e.Enroll(ctx, s.ContactID, seq.ID, s.At); err != nil && nurture.ErrorCodeOf(err) != nurture.CodeNotFound {
			return err
		}
	}
	return nil
}

// enrollOnTraits enrolls the contact in the sequences whose trigger
// condition holds now.
func (e *Engine) enrollOnTraits(ctx context.Context, s nurture.SequenceSignal, now time.Time) error {
	for _, seq := range e.cfg.Sequences.All() {
		if seq.Trigger.Condition == nil {
			continue
		}
		needs := nurture.FactsNeeds{ConditionRefs: nurture.Refs(seq.Trigger.Condition)}
		f, err := e.cfg.Store.LoadFacts(ctx, s.ContactID, needs, now)
		if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		f.Now = now
		if !f.Eval(seq.Trigger.Condition) {
			continue
		}
		if _, _, err := e.Enroll(ctx, s.ContactID, seq.ID, s.At); err != nil && nurture.ErrorCodeOf(err) != nurture.CodeNotFound {
			return err
		}
	}
	return nil
}
