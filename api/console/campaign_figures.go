package console

import (
	"context"
	"time"

	"github.com/nurture-email/nurture"
)

// A campaign's figures: counted as a page loads while that is cheap, else
// kept in the store and counted again in the background.

// figuresMaxAge is how old a campaign's kept figures may be before a page
// that shows them has them counted again: a minute while it sends and the
// day after; an hour once its hits have slowed down.
func figuresMaxAge(c *nurture.Campaign, now time.Time) time.Duration {
	if !c.FinishedAt.IsZero() && now.Sub(c.FinishedAt) > 24*time.Hour {
		return time.Hour
	}
	return time.Minute
}

func (p *Campaigns) liveLimit() int64 {
	if p.LiveLimit <= 0 {
		return 5_000
	}
	return p.LiveLimit
}

// campaignTotals are the list's figures of campaigns: counted now for
// the first of them while their recipients add up to LiveLimit, the
// others' as last counted (and counted again in the background when
// stale or never counted).
func (k *Console) campaignTotals(ctx context.Context, list []*nurture.Campaign) (map[int64]*nurture.CampaignStats, error) {
	p := k.cfg.Campaigns
	var live []int64
	var kept []*nurture.Campaign
	budget := p.liveLimit()
	for _, camp := range list {
		if camp.Audience <= budget {
			budget -= camp.Audience
			live = append(live, camp.ID)
		} else {
			kept = append(kept, camp)
		}
	}
	totals, err := p.Counts.CampaignTotals(ctx, live)
	if err != nil {
		return nil, err
	}
	for _, id := range live {
		if totals[id] == nil {
			totals[id] = &nurture.CampaignStats{ByStatus: map[string]int64{}} // no messages yet
		}
	}
	if len(kept) == 0 {
		return totals, nil
	}
	ids := make([]int64, len(kept))
	for i, camp := range kept {
		ids[i] = camp.ID
	}
	saved, err := p.Store.CampaignFigures(ctx, ids)
	if err != nil {
		return nil, err
	}
	now := k.cfg.Clock.Now()
	for _, camp := range kept {
		s, ok := saved[camp.ID]
		if !ok || now.Sub(s.CountedAt) > figuresMaxAge(camp, now) {
			k.countLater(camp.ID)
		}
		if ok {
			totals[camp.ID] = s
		}
	}
	return totals, nil
}

// campaignFigures are a campaign's statistics for its page: none yet
// before it starts; else as last counted, counted again in the
// background when stale (figuresMaxAge). A campaign never counted is
// counted now when its audience is within LiveLimit; a bigger one's are
// nil until the background count is done. (CampaignStats finds the
// campaign's opens and clicks by a scan of every email event: seconds on
// a big database, whatever the campaign's size.)
func (k *Console) campaignFigures(ctx context.Context, camp *nurture.Campaign) (*nurture.CampaignStats, error) {
	p := k.cfg.Campaigns
	if camp.StartedAt.IsZero() {
		return &nurture.CampaignStats{ByStatus: map[string]int64{}}, nil
	}
	saved, err := p.Store.CampaignFigures(ctx, []int64{camp.ID})
	if err != nil {
		return nil, err
	}
	now := k.cfg.Clock.Now()
	s := saved[camp.ID]
	switch {
	case s == nil && camp.Audience <= p.liveLimit():
		if s, err = p.Counts.CampaignStats(ctx, camp.ID); err != nil {
			return nil, err
		}
		s.CountedAt = now
		if err := p.Store.SaveCampaignFigures(ctx, camp.ID, s, now); err != nil {
			return nil, err
		}
	case s == nil || now.Sub(s.CountedAt) > figuresMaxAge(camp, now):
		k.countLater(camp.ID)
	}
	return s, nil
}

// countLater counts a campaign's figures in the background and keeps
// them, unless they are being counted already.
func (k *Console) countLater(id int64) {
	p := k.cfg.Campaigns
	if _, busy := p.counting.LoadOrStore(id, true); busy {
		return
	}
	k.background.Add(1)
	go func() {
		defer k.background.Done()
		defer p.counting.Delete(id)
		p.countOne.Lock()
		defer p.countOne.Unlock()
		ctx, cancel := context.WithTimeout(k.life, 5*time.Minute)
		defer cancel()
		at := k.cfg.Clock.Now()
		s, err := p.Counts.CampaignStats(ctx, id)
		if err == nil {
			err = p.Store.SaveCampaignFigures(ctx, id, s, at)
		}
		if err != nil && k.life.Err() == nil {
			k.cfg.Logger.Error("console: count a campaign's figures", "campaign", id, "err", err)
		}
	}()
}
