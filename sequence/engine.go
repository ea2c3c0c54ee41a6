package sequence

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nurture-email/nurture"
)

// Store is what the engine needs of the store. PostgreSQL is the truth:
// every decision is applied there in one transaction, and an update made
// on an enrollment that changed meanwhile is refused (Revision).
type Store interface {
	Enrollments(ctx context.Context, ids []int64) ([]nurture.Enrollment, error)
	Enroll(ctx context.Context, e nurture.Enrollment, allow func(past []nurture.Enrollment) (bool, string)) (*nurture.Enrollment, string, error)
	LoadFacts(ctx context.Context, contactID int64, needs nurture.FactsNeeds, since time.Time) (*nurture.Facts, error)
	LoadFactsBatch(ctx context.Context, reqs []nurture.FactsRequest) ([]*nurture.Facts, error)
	RecentSendsBatch(ctx context.Context, contactIDs []int64, since time.Time) (map[int64][]time.Time, error)
	ApplyEnrollments(ctx context.Context, us []nurture.EnrollmentUpdate) ([]nurture.EnrollmentResult, error)
	SequenceVersion(ctx context.Context, id, version string) (*nurture.SequenceSource, error)
	SaveSequenceVersions(ctx context.Context, srcs []nurture.SequenceSource) error
	WakeEnrollmentsBatch(ctx context.Context, contacts []int64, keys []string, now time.Time) (int, error)
	WakeTopicEnrollmentsBatch(ctx context.Context, contacts []int64, topics []nurture.Topic, now time.Time) (int, error)
}

// Enqueuer queues the delivery of the messages the engine created, as
// send batches (key names the batch: queuing it again queues nothing new).
// A lost enqueue is caught by the reconciler, which finds due messages in
// the store.
type Enqueuer interface {
	EnqueueSendBatch(ctx context.Context, key, queue string, ids []int64) (chunks int, err error)
}

// EngineConfig is what the engine runs with.
type EngineConfig struct {
	Store    Store
	Enqueuer Enqueuer
	// Sequences are the sequences in use; Sources holds the text of each
	// one's file, by sequence id, so that its version is kept for the
	// enrollments that entered with it (Register).
	Sequences *Set
	Sources   map[string][]byte
	// Templates checks older versions when they are read back; nil: not
	// checked (they were checked when they were in use).
	Templates Templates
	Clock     nurture.Clock // default: the system clock
	// DefaultZone is the time zone of contacts with neither a timezone
	// trait nor a known country; UTC when nil.
	DefaultZone *time.Location
	// Window is the send window of the sequences that set none; the zero
	// Window is any time.
	Window Window
	// Cap is how many emails other than transactional ones a contact may
	// get in CapPeriod (24 hours when zero); 0 means no cap.
	Cap       int
	CapPeriod time.Duration
	Logger    *slog.Logger // default: slog.Default()
}

// Engine advances enrollments: it loads one, asks Decide what to do, and
// applies the answer in the store; it enrolls contacts on the signals
// ingestion leaves. It is safe for concurrent use; several engines may
// share a store.
type Engine struct {
	cfg   EngineConfig
	zones ZoneCache

	mu       sync.Mutex
	versions map[string]*Sequence // by id@version, read back from the store
}

// NewEngine returns an engine for cfg.
func NewEngine(cfg EngineConfig) *Engine {
	if cfg.Clock == nil {
		cfg.Clock = nurture.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CapPeriod == 0 {
		cfg.CapPeriod = 24 * time.Hour
	}
	if cfg.Sequences == nil {
		cfg.Sequences = &Set{seqs: map[string]*Sequence{}}
	}
	return &Engine{cfg: cfg, versions: map[string]*Sequence{}}
}

// Register records the text of the sequences in use, so that enrollments
// on them can be advanced after their files change. Call it at start.
func (e *Engine) Register(ctx context.Context) error {
	var srcs []nurture.SequenceSource
	for _, s := range e.cfg.Sequences.All() {
		src, ok := e.cfg.Sources[s.ID]
		if !ok {
			continue
		}
		srcs = append(srcs, nurture.SequenceSource{Sequence: s.ID, Version: s.Version, File: s.File, Source: src})
	}
	return e.cfg.Store.SaveSequenceVersions(ctx, srcs)
}

// Triggers returns the keys of the events that start sequences, and whether
// a change of traits may (a trigger on a condition): what ingestion must
// signal.
func (e *Engine) Triggers() (events []string, traits bool) {
	for _, s := range e.cfg.Sequences.All() {
		switch {
		case s.Trigger.Event != nil:
			events = append(events, s.Trigger.Event.Key())
		case s.Trigger.Condition != nil:
			traits = true
		}
	}
	return events, traits
}

// Facts returns the needs as the store takes them.
func (n Needs) Facts() nurture.FactsNeeds {
	return nurture.FactsNeeds{ConditionRefs: n.ConditionRefs, Since: n.Since, Emails: n.Emails}
}

// Enroll enrolls a contact in the sequence with the given id, started at
// (the trigger's time), unless the entry rules refuse: then it returns nil
// and why.
func (e *Engine) Enroll(ctx context.Context, contactID int64, seqID string, at time.Time) (*nurture.Enrollment, string, error) {
	seq, ok := e.cfg.Sequences.Get(seqID)
	if !ok {
		return nil, "", &nurture.Error{Code: nurture.CodeNotFound, Field: "sequence", Message: fmt.Sprintf("no sequence %q", seqID)}
	}
	now := e.cfg.Clock.Now().UTC()
	if at.IsZero() || at.After(now) {
		at = now
	}
	state, err := json.Marshal(State{Started: at.UTC()})
	if err != nil {
		return nil, "", err
	}
	en := nurture.Enrollment{ContactID: contactID, Sequence: seq.ID, Version: seq.Version, Topic: seq.Topic,
		State: state, NextRun: now, Started: at.UTC()}
	return e.cfg.Store.Enroll(ctx, en, func(past []nurture.Enrollment) (bool, string) {
		ps := make([]Past, len(past))
		for i, p := range past {
			ps[i] = Past{Started: p.Started}
			if p.Status != nurture.EnrollmentActive {
				ps[i].Ended = p.Ended
				if ps[i].Ended.IsZero() {
					ps[i].Ended = p.Updated
				}
			}
		}
		return seq.CanEnter(ps, now)
	})
}

// update turns a decision into the store's update.
func (e *Engine) update(en *nurture.Enrollment, seq *Sequence, d Decision, now time.Time) (nurture.EnrollmentUpdate, error) {
	state, err := json.Marshal(d.State)
	if err != nil {
		return nurture.EnrollmentUpdate{}, fmt.Errorf("enrollment %d: %w", en.ID, err)
	}
	u := nurture.EnrollmentUpdate{
		ID: en.ID, Revision: en.Revision, Status: nurture.EnrollmentActive, Step: d.State.Step,
		Visit: d.State.Visits[d.State.Step], State: state, NextRun: d.Until, At: now,
	}
	switch d.Action {
	case ActExit:
		u.Status, u.Reason = nurture.EnrollmentExited, d.Reason
	case ActConverted:
		u.Status, u.Reason = nurture.EnrollmentConverted, d.Reason
	case ActCompleted:
		u.Status, u.Reason = nurture.EnrollmentCompleted, d.Reason
	default:
		u.Reason = d.Reason
	}
	if u.NextRun.IsZero() || u.NextRun.Before(now) {
		u.NextRun = now
	}
	for _, k := range d.WakeOn {
		u.WakeKeys = append(u.WakeKeys, nurture.WakeEvent(k))
	}
	if d.WakeOnTraits {
		u.WakeKeys = append(u.WakeKeys, nurture.WakeTraits)
	}
	if d.WakeOnHits {
		u.WakeKeys = append(u.WakeKeys, nurture.WakeHits)
	}
	for _, r := range d.Trail {
		u.History = append(u.History, nurture.EnrollmentRecord{Step: r.Step, Kind: string(r.Kind), Detail: r.Detail, At: r.At})
	}
	if d.Action == ActSend && d.Email != nil {
		em := d.Email
		u.Message = &nurture.Message{
			DedupeKey: DedupeKey(en.ID, em.Step, em.Run),
			ContactID: en.ContactID, Template: em.Template, Subject: em.Subject, Topic: em.Topic,
			SendAt: now, EnqueuedAt: now, // queued at once, below
		}
		u.Reasons = &nurture.MessageReasons{EnrollmentID: en.ID, Sequence: seq.ID, Version: seq.Version, Step: em.Step, Reasons: em.Reasons}
	}
	return u, nil
}

// DedupeKey is the dedupe key of the email of step, in its run-th visit, of
// enrollment id: seq:<enrollment>:<step>, with :<run> after the first.
func DedupeKey(id int64, step string, run int) string {
	k := "seq:" + strconv.FormatInt(id, 10) + ":" + step
	if run > 1 {
		k += ":" + strconv.Itoa(run)
	}
	return k
}

// version returns the sequence an enrollment is advanced on: the version it
// entered with, or the one in use when it may move there (CanMove), which
// moved reports.
func (e *Engine) version(ctx context.Context, en *nurture.Enrollment, step string) (seq *Sequence, moved bool, err error) {
	cur, ok := e.cfg.Sequences.Get(en.Sequence)
	if ok && cur.Version == en.Version {
		return cur, false, nil
	}
	old, err := e.storedVersion(ctx, en.Sequence, en.Version)
	if err != nil && (!ok || nurture.ErrorCodeOf(err) != nurture.CodeNotFound) {
		return nil, false, err
	}
	if ok {
		if old == nil {
			// Its version was never recorded: the one in use, if it can.
			if _, has := cur.Step(step); step == "" || has {
				return cur, true, nil
			}
			return nil, false, &nurture.Error{Code: nurture.CodeNotFound, Message: fmt.Sprintf("version %s of sequence %s is unknown", en.Version, en.Sequence)}
		}
		if can, _ := CanMove(old, cur, step); can {
			return cur, true, nil
		}
	}
	return old, false, nil
}

// storedVersion reads back and parses a version of a sequence, once.
func (e *Engine) storedVersion(ctx context.Context, id, version string) (*Sequence, error) {
	key := id + "@" + version
	e.mu.Lock()
	s, ok := e.versions[key]
	e.mu.Unlock()
	if ok {
		return s, nil
	}
	src, err := e.cfg.Store.SequenceVersion(ctx, id, version)
	if err != nil {
		return nil, err
	}
	s, err = Parse(src.File, src.Source, e.cfg.Templates)
	if err != nil {
		return nil, &nurture.Error{Code: nurture.CodeNotFound, Message: fmt.Sprintf("version %s of sequence %s no longer reads: %v", version, id, err)}
	}
	if s.Version != version {
		// The hash of its normalised content changed with the parser:
		// the steps are what matter, and they are these.
		e.cfg.Logger.Info("sequence version reads back with another hash", "sequence_id", id, "stored", version, "now", s.Version)
	}
	e.mu.Lock()
	e.versions[key] = s
	e.mu.Unlock()
	return s, nil
}
