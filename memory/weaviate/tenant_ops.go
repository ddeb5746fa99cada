package weaviate

import (
	"context"
	"errors"
	"fmt"

	"github.com/weaviate/weaviate-go-client/v4/weaviate/filters"
)

// idPage is how many ids IDs reads per request.
const idPage = 1000

// maxDeleteRounds bounds DeleteUser: each round deletes up to Weaviate's
// query limit (10,000 by default), so this allows a user of millions of
// events while a broken server cannot keep it looping.
const maxDeleteRounds = 1000

// DeleteUser erases every event of user in the team's tenant.
func (s *Sink) DeleteUser(ctx context.Context, teamID, user string) error {
	tenant, err := TenantName(teamID)
	if err != nil {
		return fmt.Errorf("weaviate: delete user: %w", err)
	}
	if user == "" {
		return errors.New("weaviate: delete user: no user given")
	}
	for range maxDeleteRounds {
		done, err := s.deleteRound(ctx, tenant, user)
		if tenantMissing(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("weaviate: delete events of a user in team %s: %w", teamID, err)
		}
		if done {
			return nil
		}
	}
	return fmt.Errorf("weaviate: delete events of a user in team %s: still matching after %d rounds", teamID, maxDeleteRounds)
}

// DeleteTeam drops the tenant of a team that has been deleted, and with it
// every event the team had here. A team that never delivered anything has
// no tenant, which is fine.
func (s *Sink) DeleteTeam(ctx context.Context, teamID string) error {
	tenant, err := TenantName(teamID)
	if err != nil {
		return fmt.Errorf("weaviate: delete team: %w", err)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err = s.client.Schema().TenantsDeleter().WithClassName(s.class).WithTenants(tenant).Do(ctx)
	if err != nil && !tenantMissing(clientErr(err)) {
		return fmt.Errorf("weaviate: delete the tenant of team %s: %w", teamID, clientErr(err))
	}
	// Forget it, so that nothing in this process takes it for made.
	s.tenants.Delete(tenant)
	return nil
}

// deleteRound runs one batch delete. Weaviate deletes at most its query
// limit of matches per request; done says nothing more can match.
func (s *Sink) deleteRound(ctx context.Context, tenant, user string) (done bool, err error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	where := filters.Where().WithPath([]string{propUser}).WithOperator(filters.Equal).WithValueText(user)
	resp, err := s.client.Batch().ObjectsBatchDeleter().
		WithClassName(s.class).WithTenant(tenant).WithOutput("minimal").
		WithWhere(where).Do(ctx)
	if err != nil {
		return false, clientErr(err)
	}
	r := resp.Results
	if r == nil {
		return false, errors.New("batch delete answered without results")
	}
	if r.Failed > 0 {
		return false, fmt.Errorf("%d of %d objects not deleted", r.Failed, r.Matches)
	}
	return r.Limit == 0 || r.Matches < r.Limit, nil
}

// Count is how many events the team's tenant holds; 0 for a team that has
// never delivered anything.
func (s *Sink) Count(ctx context.Context, teamID string) (int, error) {
	tenant, err := TenantName(teamID)
	if err != nil {
		return 0, fmt.Errorf("weaviate: count: %w", err)
	}
	q := fmt.Sprintf("{ Aggregate { %s(tenant: %s) { meta { count } } } }", s.class, quote(tenant))
	var data struct {
		Aggregate map[string][]struct {
			Meta struct {
				Count int `json:"count"`
			} `json:"meta"`
		} `json:"Aggregate"`
	}
	if err := s.graphQL(ctx, q, &data); err != nil {
		if tenantMissing(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("weaviate: count events of team %s: %w", teamID, err)
	}
	rows := data.Aggregate[s.class]
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].Meta.Count, nil
}

// IDs lists the ids of every event in the team's tenant, in id order, for
// checking that delivery lost and duplicated nothing. It pages through the
// tenant with Weaviate's cursor (after), so it reads any number of objects.
func (s *Sink) IDs(ctx context.Context, teamID string) ([]string, error) {
	tenant, err := TenantName(teamID)
	if err != nil {
		return nil, fmt.Errorf("weaviate: list ids: %w", err)
	}
	ids := []string{}
	after := ""
	for {
		args := fmt.Sprintf("tenant: %s, limit: %d", quote(tenant), idPage)
		if after != "" {
			args += ", after: " + quote(after)
		}
		q := fmt.Sprintf("{ Get { %s(%s) { _additional { id } } } }", s.class, args)
		var data struct {
			Get map[string][]struct {
				Additional struct {
					ID string `json:"id"`
				} `json:"_additional"`
			} `json:"Get"`
		}
		if err := s.graphQL(ctx, q, &data); err != nil {
			if tenantMissing(err) {
				return ids, nil
			}
			return nil, fmt.Errorf("weaviate: list ids of team %s: %w", teamID, err)
		}
		page := data.Get[s.class]
		for _, o := range page {
			ids = append(ids, o.Additional.ID)
		}
		if len(page) < idPage {
			return ids, nil
		}
		after = page[len(page)-1].Additional.ID
	}
}
