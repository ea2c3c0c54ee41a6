package sequence

import (
	"context"

	"github.com/nurture-email/nurture"
)

// maxExitTries bounds the attempts of an exit that keeps finding the
// enrollment changed (an advance or a wake came first).
const maxExitTries = 5

// Exit ends active enrollment id as exited for reason (an operator's
// decision, say), the way the engine applies its own decisions: in one
// transaction, fenced by the enrollment's revision, recorded in its
// history. An enrollment that changes meanwhile is read again; one that has
// ended already is a conflict that says how it ended. The email of a step
// applied before the exit may still go; none is created after it.
func (e *Engine) Exit(ctx context.Context, id int64, reason string) (*nurture.Enrollment, error) {
	for range maxExitTries {
		ens, err := e.cfg.Store.Enrollments(ctx, []int64{id})
		if err != nil {
			return nil, err
		}
		if len(ens) == 0 {
			return nil, nurture.Errorf(nurture.CodeNotFound, "no enrollment %d", id)
		}
		en := &ens[0]
		if en.Status != nurture.EnrollmentActive {
			return nil, nurture.Errorf(nurture.CodeConflict, "enrollment %d has ended already: %s", id, EndedText(en))
		}
		now := e.cfg.Clock.Now().UTC()
		res, err := e.cfg.Store.ApplyEnrollments(ctx, []nurture.EnrollmentUpdate{e.end(en, now, nurture.EnrollmentExited, reason)})
		if err != nil {
			return nil, err
		}
		if len(res) == 1 && res[0].Applied {
			ens, err := e.cfg.Store.Enrollments(ctx, []int64{id})
			if err != nil {
				return nil, err
			}
			if len(ens) == 0 {
				return nil, nurture.Errorf(nurture.CodeNotFound, "no enrollment %d", id)
			}
			return &ens[0], nil
		}
	}
	return nil, nurture.Errorf(nurture.CodeUnavailable, "enrollment %d kept changing while it was being ended: try again", id)
}

// EndedText says how an enrollment ended: its status, and why when known.
func EndedText(en *nurture.Enrollment) string {
	if en.Reason == "" {
		return string(en.Status)
	}
	return string(en.Status) + " (" + en.Reason + ")"
}
