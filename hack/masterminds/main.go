// Command masterminds answers, with github.com/Masterminds/semver/v3 (the constraint library
// the upstream Flux Operator resolves spec.distribution.version with), which version each
// constraint selects. tests/masterminds.rs compares its answers with the Rust resolver.
//
// Input on stdin: {"versions": ["2.9.4", ...], "constraints": ["2.x", ...]}.
// Output on stdout: a JSON array with one object per constraint, in order:
// {"selected": "2.9.4"}, {"selected": null} when nothing matches, or
// {"selected": null, "error": "..."} when the library refuses the constraint.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/Masterminds/semver/v3"
)

type request struct {
	Versions    []string `json:"versions"`
	Constraints []string `json:"constraints"`
}

type answer struct {
	Selected *string `json:"selected"`
	Error    string  `json:"error,omitempty"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "masterminds:", err)
		os.Exit(1)
	}
}

func run() error {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	versions := make([]*semver.Version, 0, len(req.Versions))
	for _, text := range req.Versions {
		// The operator's candidates are strict release versions; a typo here is the caller's.
		v, err := semver.StrictNewVersion(text)
		if err != nil {
			return fmt.Errorf("version %q: %w", text, err)
		}
		versions = append(versions, v)
	}
	answers := make([]answer, 0, len(req.Constraints))
	for _, text := range req.Constraints {
		answers = append(answers, resolve(text, versions))
	}
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	return out.Encode(answers)
}

// resolve picks the highest matching version, as a resolver over a list of releases does.
func resolve(text string, versions []*semver.Version) answer {
	constraint, err := semver.NewConstraint(text)
	if err != nil {
		return answer{Error: err.Error()}
	}
	var best *semver.Version
	for _, v := range versions {
		if constraint.Check(v) && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	if best == nil {
		return answer{}
	}
	selected := best.String()
	return answer{Selected: &selected}
}
