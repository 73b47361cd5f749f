// Command gotemplate renders templates the way the ResourceSet contract
// (../shared/SPEC-resourceset.md §11.4-11.5) defines them, on the real libraries: Go's
// text/template with the delimiters << >> and missingkey=error,
// github.com/go-task/slim-sprig/v3's hermetic text functions, slugify on
// github.com/gosimple/slug (max length 63, smart truncation), toYaml/mustToYaml on
// sigs.k8s.io/yaml, and Adler-32 ids on hash/adler32. tests/template_diff compares the
// Rust engine with its answers.
//
// Input on stdin: JSON lines, one case each:
//
//	{"template": "<< inputs.a >>", "inputs": {"a": 1}}   render (inputs null: nil inputs)
//	{"adler32": "apps=1/git_tags=0"}                      decimal Adler-32 of the bytes
//
// Output on stdout: one JSON line per case, in order: {"out": "..."} or {"error": "..."}.
//
// `gotemplate unidecode-table` instead writes gosimple/unidecode's transliteration of
// every character U+0000..U+FFFF, as the Rust slugify carries it
// (src/resourceset/template/unidecode.zlib): zlib of, per character, one length byte and
// the ASCII bytes.
package main

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"hash/adler32"
	"os"
	"strconv"
	"text/template"
	"time"

	sprig "github.com/go-task/slim-sprig/v3"
	"github.com/gosimple/slug"
	"github.com/gosimple/unidecode"
	"sigs.k8s.io/yaml"
)

type request struct {
	Template *string         `json:"template"`
	Inputs   json.RawMessage `json:"inputs"`
	Adler32  *string         `json:"adler32"`
}

type answer struct {
	Out   *string `json:"out,omitempty"`
	Error string  `json:"error,omitempty"`
}

func main() {
	// The operator's image runs in UTC; toDate parses in the local zone.
	time.Local = time.UTC
	slug.MaxLength = 63
	slug.EnableSmartTruncate = true
	if len(os.Args) > 1 && os.Args[1] == "unidecode-table" {
		if err := unidecodeTable(); err != nil {
			fmt.Fprintln(os.Stderr, "gotemplate:", err)
			os.Exit(1)
		}
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "gotemplate: bad request:", err)
			os.Exit(1)
		}
		if err := out.Encode(handle(req)); err != nil {
			fmt.Fprintln(os.Stderr, "gotemplate:", err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "gotemplate: reading stdin:", err)
		os.Exit(1)
	}
}

func handle(req request) answer {
	if req.Adler32 != nil {
		s := strconv.FormatUint(uint64(adler32.Checksum([]byte(*req.Adler32))), 10)
		return answer{Out: &s}
	}
	if req.Template == nil {
		return answer{Error: "no template"}
	}
	inputs, err := decodeInputs(req.Inputs)
	if err != nil {
		return answer{Error: "inputs: " + err.Error()}
	}
	s, err := render(*req.Template, inputs)
	if err != nil {
		return answer{Error: err.Error()}
	}
	return answer{Out: &s}
}

// decodeInputs reads integral JSON numbers as int64 and the others as float64 (§11.4.6).
func decodeInputs(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return convert(v).(map[string]any), nil
}

func convert(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = convert(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = convert(e)
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

func funcs(inputs map[string]any) template.FuncMap {
	m := sprig.HermeticTxtFuncMap()
	m["inputs"] = func() map[string]any { return inputs }
	m["slugify"] = func(s string) string { return slug.Make(s) }
	m["toYaml"] = func(v any) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	m["mustToYaml"] = func(v any) (string, error) {
		data, err := yaml.Marshal(v)
		if err != nil {
			return "", err
		}
		return string(data), nil
	}
	return m
}

func render(text string, inputs map[string]any) (string, error) {
	tmpl, err := template.New("t").
		Delims("<<", ">>").
		Option("missingkey=error").
		Funcs(funcs(inputs)).
		Parse(text)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, nil); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func unidecodeTable() error {
	w, err := zlib.NewWriterLevel(os.Stdout, zlib.BestCompression)
	if err != nil {
		return err
	}
	for c := rune(0); c <= 0xFFFF; c++ {
		t := unidecode.Unidecode(string(c))
		if len(t) > 255 {
			return fmt.Errorf("U+%04X: transliteration longer than 255 bytes", c)
		}
		if _, err := w.Write(append([]byte{byte(len(t))}, t...)); err != nil {
			return err
		}
	}
	return w.Close()
}
