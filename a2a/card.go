package a2a

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// Where agents publish their cards: A2A 0.3 and 1.0 use agent-card.json;
// agents built for earlier drafts still serve agent.json.
const (
	cardPathCurrent = "/.well-known/agent-card.json"
	cardPathLegacy  = "/.well-known/agent.json"
)

const (
	// cardFetchTimeout bounds a whole fetch, fallback included: an agent that
	// takes longer is as good as down to whoever registered it.
	cardFetchTimeout = 10 * time.Second
	// maxCardFetchBytes bounds the card read into memory and stored.
	maxCardFetchBytes = 1 << 20
)

// Card is an agent's card as the gateway reads it: the document itself and
// the few fields the gateway and the console show.
type Card struct {
	Raw json.RawMessage
	// Version is the protocol the card says the agent speaks: "0.3" or
	// "1.0".
	Version     string
	Name        string
	Description string
	Skills      []Skill
}

// Skill is one skill an agent's card lists.
type Skill struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
}

// fetchedCardDoc holds the fields of both card shapes that decide the version:
// 1.0 lists supportedInterfaces, each with its protocolVersion; 0.3 has a
// top-level protocolVersion and url.
type fetchedCardDoc struct {
	Name                string  `json:"name"`
	Description         string  `json:"description"`
	Skills              []Skill `json:"skills"`
	ProtocolVersion     string  `json:"protocolVersion"`
	URL                 string  `json:"url"`
	SupportedInterfaces *[]struct {
		URL             string `json:"url"`
		ProtocolBinding string `json:"protocolBinding"`
		ProtocolVersion string `json:"protocolVersion"`
	} `json:"supportedInterfaces"`
}

// FetchCard reads the card of the agent at baseURL through client, which
// should be the gateway's policy-guarded client, since baseURL is a team's
// choice. It asks for agent-card.json, then agent.json when that is not
// found, without an A2A-Version header: the card's shape says the version.
// credential, when set, goes as a Bearer token. Errors are sentences for the
// team's admin; they never hold the credential.
func FetchCard(ctx context.Context, client *http.Client, baseURL, credential string) (Card, error) {
	ctx, cancel := context.WithTimeout(ctx, cardFetchTimeout)
	defer cancel()
	base := strings.TrimRight(baseURL, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Card{}, errors.New("the agent's base URL is not an absolute http or https URL")
	}
	raw, err := fetchCardAt(ctx, client, base, cardPathCurrent, credential)
	if errors.Is(err, errCardNotFound) {
		raw, err = fetchCardAt(ctx, client, base, cardPathLegacy, credential)
		if errors.Is(err, errCardNotFound) {
			return Card{}, fmt.Errorf("the agent publishes no card: %s and %s are not found (HTTP 404); is the base URL the agent's root?", cardPathCurrent, cardPathLegacy)
		}
	}
	if err != nil {
		return Card{}, err
	}
	return decodeCard(raw)
}

// errCardNotFound is a 404 at a card path, which is worth the fallback.
var errCardNotFound = errors.New("no card at this path")

func fetchCardAt(ctx context.Context, client *http.Client, base, path, credential string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, errors.New("the agent's base URL is not valid")
	}
	req.Header.Set("Accept", "application/json")
	if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the agent could not be reached for %s: %w", path, cardErrCause(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errCardNotFound
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("the agent refused to give its card (HTTP %d at %s): check the credential", resp.StatusCode, path)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("the agent answered HTTP %d at %s", resp.StatusCode, path)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCardFetchBytes+1))
	if err != nil {
		return nil, fmt.Errorf("the agent's card broke off: %w", cardErrCause(err))
	}
	if len(body) > maxCardFetchBytes {
		return nil, fmt.Errorf("the agent's card is larger than %d KiB", maxCardFetchBytes>>10)
	}
	return body, nil
}

// cardErrCause keeps the cause of a client error and drops the URL the
// client puts in front of it, so messages stay short and never repeat
// what a team typed.
func cardErrCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decodeCard reads a card document and decides its protocol version from
// its shape: a card that lists supportedInterfaces is 1.0 when any of them
// speaks 1.x (0.3 when they all speak 0.3); one with a top-level
// protocolVersion 0.3.x, or a url and no version, is 0.3.
func decodeCard(raw []byte) (Card, error) {
	var doc fetchedCardDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Card{}, fmt.Errorf("the agent's card is not a JSON object of the A2A shape: %w", err)
	}
	if strings.TrimSpace(doc.Name) == "" {
		return Card{}, errors.New("the agent's card has no name: is it an A2A agent card?")
	}
	version, err := cardVersionOf(doc)
	if err != nil {
		return Card{}, err
	}
	skills := doc.Skills
	if skills == nil {
		skills = []Skill{}
	}
	return Card{Raw: json.RawMessage(raw), Version: version, Name: doc.Name, Description: doc.Description, Skills: skills}, nil
}

func cardVersionOf(doc fetchedCardDoc) (string, error) {
	if doc.SupportedInterfaces != nil {
		var seen []string
		for _, in := range *doc.SupportedInterfaces {
			seen = append(seen, in.ProtocolVersion)
			if strings.HasPrefix(in.ProtocolVersion, "1.") || in.ProtocolVersion == "1" {
				return attach.A2AVersion10, nil
			}
		}
		for _, v := range seen {
			if v == "0.3" || strings.HasPrefix(v, "0.3.") {
				return attach.A2AVersion03, nil
			}
		}
		return "", fmt.Errorf("the agent's card lists no interface in a protocol version the gateway speaks (0.3 or 1.x); it lists %s", quoteCardVersions(seen))
	}
	switch v := doc.ProtocolVersion; {
	case v == "0.3" || strings.HasPrefix(v, "0.3."):
		return attach.A2AVersion03, nil
	case v == "" && doc.URL != "":
		return attach.A2AVersion03, nil
	case v == "":
		return "", errors.New("the agent's card names neither supportedInterfaces nor a protocolVersion and url")
	default:
		return "", fmt.Errorf("the agent's card says protocolVersion %q; the gateway speaks 0.3 and 1.x", attach.CutUTF8(v, 20))
	}
}

func quoteCardVersions(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", attach.CutUTF8(v, 20))
	}
	return strings.Join(q, ", ")
}
