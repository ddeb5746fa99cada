package main

import (
	"fmt"
	"math"
	"time"
)

// The steady phase sends a fixed load the gateway can carry with room to
// spare, as a gateway is run, instead of as much as it can take: each
// connection pauses steadyPause before each request (wrk starts the
// request's clock after the pause). With the load fixed, the gateways with
// mirroring off and on differ only in how long each request waits, which is
// where work done off the request path must not show.
const (
	steadyPause = 2 * time.Millisecond
	// steadyShare of the requests/s the gateway without mirroring carried
	// in the closed-loop phase is offered.
	steadyShare = 0.3
)

// steadyConns is how many pacing connections offer steadyShare of what the
// gateway without mirroring carried in the phase named from. A connection
// sends about one request per steadyPause; latency lowers that a little,
// alike for both gateways.
func steadyConns(reports []phaseReport, from string) (int, error) {
	for _, p := range reports {
		if p.Name != from {
			continue
		}
		if gw := p.result(targetGateway); gw != nil && gw.RequestsPerS > 0 {
			perConn := float64(time.Second) / float64(steadyPause)
			return max(1, int(math.Round(gw.RequestsPerS*steadyShare/perConn))), nil
		}
	}
	return 0, fmt.Errorf("the steady phase needs the %s phase's %s result first", from, targetGateway)
}
