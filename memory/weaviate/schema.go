package weaviate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/uuid"
	"github.com/weaviate/weaviate-go-client/v4/weaviate/fault"
	"github.com/weaviate/weaviate/entities/models"

	attach "github.com/attach-dev/attach-gateway"
)

// Property names of the class. Weaviate property names are GraphQL field
// names, so they are camelCase.
const (
	propContent   = "content"
	propTeamID    = "teamId"
	propUser      = "user"
	propSession   = "session"
	propKind      = "kind"
	propRole      = "role"
	propModel     = "model"
	propEngine    = "engine"
	propTaskID    = "taskId"
	propTruncated = "truncated"
	propMetadata  = "metadata"
	propCreatedAt = "createdAt"
)

// properties are the class's properties, one per Event field. Content is
// searched by words (BM25). The fields a search filters on (user, session,
// kind, task) are indexed and matched whole (tokenization "field"), so
// "alice@example.com" matches only itself. The rest is stored to be read
// back but not indexed: every index is written for every event, and
// delivery speed is what the indexes cost.
func properties() []*models.Property {
	yes, no := true, false
	filterable := func(name string) *models.Property {
		return &models.Property{
			Name: name, DataType: []string{"text"}, Tokenization: models.PropertyTokenizationField,
			IndexFilterable: &yes, IndexSearchable: &no,
		}
	}
	stored := func(name, dataType string) *models.Property {
		p := &models.Property{Name: name, DataType: []string{dataType}, IndexFilterable: &no}
		if dataType == "text" {
			p.Tokenization = models.PropertyTokenizationField
			p.IndexSearchable = &no
		}
		return p
	}
	return []*models.Property{
		{
			Name: propContent, DataType: []string{"text"}, Tokenization: models.PropertyTokenizationWord,
			IndexFilterable: &no, IndexSearchable: &yes,
		},
		filterable(propUser),
		filterable(propSession),
		filterable(propKind),
		filterable(propTaskID),
		stored(propTeamID, "text"),
		stored(propRole, "text"),
		stored(propModel, "text"),
		stored(propEngine, "text"),
		stored(propTruncated, "boolean"),
		stored(propMetadata, "text"),
		stored(propCreatedAt, "date"),
	}
}

// classDef is the class events are stored in: no vectorizer (vectors, when
// any, come with the events), one tenant per team. Tenants are created by
// the sink, not automatically by Weaviate: automatic creation costs a
// cluster-wide write on every batch.
func classDef(name string) *models.Class {
	return &models.Class{
		Class:              name,
		Description:        "Prompts, responses, hand-offs and notes remembered by Attach Gateway, one tenant per team.",
		Vectorizer:         "none",
		MultiTenancyConfig: &models.MultiTenancyConfig{Enabled: true},
		Properties:         properties(),
	}
}

// ensureClass creates the class when it is missing and adds any property a
// newer gateway needs to a class an older one made. Another gateway may be
// doing the same at the same moment, so "already exists" is not a failure:
// after any error the schema is read again and the result judged from it.
func (s *Sink) ensureClass(ctx context.Context) error {
	class, err := s.getClass(ctx)
	if err != nil {
		return err
	}
	if class == nil {
		cerr := s.client.Schema().ClassCreator().WithClass(classDef(s.class)).Do(ctx)
		if cerr == nil {
			return nil
		}
		if class, err = s.getClass(ctx); err != nil || class == nil {
			return fmt.Errorf("weaviate: create class %s: %w", s.class, clientErr(cerr))
		}
	}
	if class.MultiTenancyConfig == nil || !class.MultiTenancyConfig.Enabled {
		return fmt.Errorf("weaviate: class %s exists without multi-tenancy; it cannot keep teams apart (use another class name or remove it)", s.class)
	}
	for _, want := range properties() {
		i := slices.IndexFunc(class.Properties, func(p *models.Property) bool { return p.Name == want.Name })
		if i >= 0 {
			if got := class.Properties[i].DataType; !slices.Equal(got, want.DataType) {
				return fmt.Errorf("weaviate: class %s has property %s of type %v, want %v", s.class, want.Name, got, want.DataType)
			}
			continue
		}
		if err := s.client.Schema().PropertyCreator().WithClassName(s.class).WithProperty(want).Do(ctx); err != nil {
			if again, gerr := s.getClass(ctx); gerr != nil || again == nil ||
				!slices.ContainsFunc(again.Properties, func(p *models.Property) bool { return p.Name == want.Name }) {
				return fmt.Errorf("weaviate: add property %s to class %s: %w", want.Name, s.class, clientErr(err))
			}
		}
	}
	return nil
}

// getClass reads the class from the schema; nil when there is none.
func (s *Sink) getClass(ctx context.Context) (*models.Class, error) {
	class, err := s.client.Schema().ClassGetter().WithClassName(s.class).Do(ctx)
	if err != nil {
		var ce *fault.WeaviateClientError
		if errors.As(err, &ce) && ce.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("weaviate: read class %s: %w", s.class, clientErr(err))
	}
	return class, nil
}

// TenantName is the Weaviate tenant that holds a team's events: "team-" and
// the team's id in canonical form (lower case, with dashes), which fits
// Weaviate's tenant names ([A-Za-z0-9_-], at most 64).
func TenantName(teamID string) (string, error) {
	id, err := uuid.Parse(teamID)
	if err != nil {
		return "", attach.Invalid("team_id", "must be a UUID")
	}
	return "team-" + id.String(), nil
}

// ensureTenant creates the team's tenant once per process. A tenant that
// already exists (another gateway made it, or this one before a restart) is
// fine. A tenant removed since is forgotten by deliver, and made again on the
// next attempt.
func (s *Sink) ensureTenant(ctx context.Context, tenant string) error {
	if _, ok := s.tenants.Load(tenant); ok {
		return nil
	}
	err := s.client.Schema().TenantsCreator().WithClassName(s.class).WithTenants(models.Tenant{Name: tenant}).Do(ctx)
	if err != nil {
		exists, xerr := s.client.Schema().TenantsExists().WithClassName(s.class).WithTenant(tenant).Do(ctx)
		if xerr != nil || !exists {
			return fmt.Errorf("create tenant %s: %w", tenant, clientErr(err))
		}
	}
	s.tenants.Store(tenant, struct{}{})
	return nil
}
