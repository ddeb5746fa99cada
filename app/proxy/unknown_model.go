package proxy

import (
	"strconv"
	"strings"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// ReasonUnknownModel is the code a client sees when it names a model none
// of the team's engines lists and the team has no default engine to take
// it. The engine is not called.
const ReasonUnknownModel = "unknown_model"

// maxNamedModels bounds how many of the team's models a refusal names.
const maxNamedModels = 20

// noEngineFor is the refusal of a request for model that no engine of the
// team takes. It names the models the team serves, so the caller can pick
// one.
func noEngineFor(team *tenants.Snapshot, model string) error {
	if len(team.Engines) == 0 {
		return attach.Errorf(attach.CodeNoEngine, "team %s has no engines", team.Team.Slug)
	}
	serves := servedList(team.Models())
	if model == "" {
		return attach.Errorf(attach.CodeNoEngine, "team %s has no default engine; name a model (%s)", team.Team.Slug, serves)
	}
	return &attach.Error{
		Code: attach.CodeNoEngine, Reason: ReasonUnknownModel, Field: "model",
		Message: "no engine of team " + team.Team.Slug + " lists model " + strconv.Quote(model) +
			" and the team has no default engine (" + serves + ")",
	}
}

// servedList says which models a team's engines list, for a message.
func servedList(models []string) string {
	switch {
	case len(models) == 0:
		return "its engines list no models"
	case len(models) > maxNamedModels:
		return "it serves " + strings.Join(models[:maxNamedModels], ", ") + " and " + strconv.Itoa(len(models)-maxNamedModels) + " more"
	}
	return "it serves " + strings.Join(models, ", ")
}
