package enrich

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/temoto/robotstxt"
)

// robotsAllow fetches (or reuses) the robots.txt of u's host and tests u's
// path against it. An unreachable robots.txt is the page's failure too;
// a 4xx one allows everything, a 5xx one nothing (robotstxt's rules,
// which are Google's).
func (f *Fetcher) robotsAllow(ctx context.Context, u *url.URL) error {
	key := u.Scheme + "://" + u.Host
	now := f.cfg.Clock.Now()
	f.mu.Lock()
	e, ok := f.robots[key]
	f.mu.Unlock()
	if !ok || now.Sub(e.at) > f.cfg.RobotsTTL {
		ru := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/robots.txt"}
		resp, err := f.do(ctx, ru, kindRobots, nil)
		if err != nil {
			return err
		}
		data, err := robotstxt.FromStatusAndBytes(resp.Status, resp.Body)
		if err != nil {
			// Unparsable: as if there were none, like the major crawlers.
			data, _ = robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
		}
		e = robotsEntry{data: data, at: now}
		f.mu.Lock()
		if len(f.robots) >= 10000 {
			clear(f.robots) // a crude bound: entries are cheap to fetch again
		}
		f.robots[key] = e
		f.mu.Unlock()
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	if !e.data.TestAgent(path, RobotsAgent) {
		return &FetchError{Reason: ReasonRobots, URL: u.String(), Err: errors.New("disallowed by robots.txt")}
	}
	return nil
}
