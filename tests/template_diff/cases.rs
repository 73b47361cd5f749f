//! Hand-written cases: every function of SPEC-resourceset §11.5 with typical and edge
//! arguments, and every construct of the template language.

use serde_json::{Value, json};

use crate::Case;

pub fn inputs() -> Value {
    json!({
        "tenant": "team-a", "n": 3, "neg": -4, "f": 2.5, "big": 12345678901234_i64, "tiny": 0.000001,
        "b": true, "off": false, "nil": null, "empty": "", "zero": 0, "fz": 0.0,
        "list": ["a", "b", "c"], "nums": [3, 1, 2], "mixed": [1, "a", null, true, 2.5, [1], {"k": "v"}],
        "dups": ["a", "b", "a", 1, 1.0, "1"], "emptyList": [], "emptyMap": {},
        "app": {"version": "1.2.3", "name": "web", "tags": ["x", "y"], "port": 8080, "nested": {"deep": {"x": 1}}},
        "unicode": "Ünïcödé Straße 😀 日本", "spaces": "  padded text \t\n", "multi": "line one\nline two\n",
        "url": "https://user:p%40ss@example.com:8443/a/b%20c?q=1&r=2#frag%21",
        "date": "2024-02-29T13:14:15.123456789Z", "json": "{\"a\":1,\"b\":[true,null,\"x\"],\"c\":1.5e3}",
        "yamlish": "yes", "num_str": "42", "float_str": "3.75", "sentence": "the quick brown fox jumps over the lazy dog",
    })
}

/// Go builtins.
const BUILTINS: &[&str] = &[
    "<< and 1 0 >> << and 1 2 >> << and >> ",
    "<< or 0 \"\" >> << or 0 \"x\" >> << or inputs.nil inputs.list >>",
    "<< not 0 >> << not inputs.list >> << not inputs.emptyMap >>",
    "<< len inputs.list >> << len inputs.tenant >> << len inputs.app >> << len inputs.unicode >>",
    "<< len 3 >>",
    "<< len inputs.nil >>",
    "<< index inputs.list 1 >> << index inputs.app \"name\" >> << index inputs.tenant 0 >> << index inputs.app \"tags\" 1 >>",
    "<< index inputs.list 9 >>",
    "<< index inputs.app \"missing\" >>",
    "<< index inputs.list \"x\" >>",
    "<< index nil 1 >>",
    "<< eq 1 1 >> << eq \"a\" \"b\" \"a\" >> << eq inputs.n 3 >> << eq inputs.f 2.5 >> << eq inputs.b true >>",
    "<< eq 1 \"1\" >>",
    "<< eq inputs.list inputs.list >>",
    "<< ne 1 2 >> << ne \"a\" \"a\" >> << lt 1 2 >> << le 2 2 >> << gt \"b\" \"a\" >> << ge 1.5 2.5 >>",
    "<< lt 1 \"a\" >>",
    "<< lt true false >>",
    "<< print 1 2 \"a\" \"b\" 3 nil inputs.list >>|<< println 1 \"a\" >>|<< print >>",
    "<< printf \"%s-%d-%v-%q-%05.2f-%x-%X-%o-%t-%5s|%-5s|%c-%e-%g-%%\" \"a\" 7 inputs.app \"q\" 3.14159 255 255 8 true \"r\" \"l\" 65 1234.5678 0.000012 >>",
    "<< printf \"%d %s\" \"x\" 1 >> << printf \"%d\" >> << printf \"%v\" 1 2 >>",
    "<< printf \"%v %v %v %v %v\" 1e21 1e20 123456789.0 0.0001 0.00001 >>",
    "<< printf \"%.3s|%8.3f|%+d|% d|%x\" \"abcdef\" 2.0 5 5 \"hi\" >>",
    "<< html \"<a href='x'>&\\\"</a>\" >> << js \"it's <b> & \\\"q\\\" =\\n\" >> << urlquery \"a b&c=d/é\" >>",
    "<< html 1 2 >> << urlquery >>",
    "<< call inputs.app >>",
];

/// Strings.
const STRINGS: &[&str] = &[
    "<< trunc 3 \"abcdef\" >>|<< trunc -2 \"abcdef\" >>|<< trunc 10 \"abc\" >>|<< trunc 0 \"abc\" >>|<< trunc -10 \"abc\" >>",
    "<< trunc inputs.n \"abcdef\" >>",
    "<< trunc 2 inputs.unicode >>",
    "<< trim inputs.spaces >>|<< upper inputs.unicode >>|<< lower inputs.unicode >>|<< title inputs.sentence >>|<< title \"hello_world foo-bar x.y\" >>",
    "<< substr 1 3 \"abcdef\" >>|<< substr -1 3 \"abcdef\" >>|<< substr 2 -1 \"abcdef\" >>|<< substr 2 99 \"abcdef\" >>",
    "<< substr 5 2 \"abcdef\" >>",
    "<< repeat 3 \"ab\" >>|<< repeat 0 \"x\" >>",
    "<< repeat -1 \"x\" >>",
    "<< trimall \"-_\" \"--a-b__\" >>|<< trimAll \"$\" \"$$5$\" >>|<< trimSuffix \".yaml\" \"a.yaml\" >>|<< trimPrefix \"v\" \"v1.2\" >>",
    "<< contains \"am\" \"team\" >> << hasPrefix \"te\" inputs.tenant >> << hasSuffix \"-a\" inputs.tenant >>",
    "<< quote \"a\" 1 nil \"b\\\"c\" >>|<< squote \"a\" 2.5 nil >>|<< quote >>|<< cat \"a\" 1 nil inputs.list \"b\" >>",
    "<< indent 2 inputs.multi >>|<< nindent 4 \"a\\nb\" >>|<< indent 0 \"x\" >>",
    "<< indent -1 \"x\" >>",
    "<< replace \"a\" \"b\" \"banana\" >>|<< replace \"\" \"-\" \"abc\" >>|<< replace \"na\" \"\" \"banana\" >>",
    "<< plural \"one\" \"many\" 1 >> << plural \"one\" \"many\" 2 >> << plural \"one\" \"many\" 0 >>",
    "<< sha1sum \"abc\" >> << sha256sum \"abc\" >> << adler32sum \"apps=1/git_tags=0\" >> << sha256sum \"\" >>",
    "<< toString 1 >>|<< toString 2.5 >>|<< toString inputs.list >>|<< toString nil >>|<< toString inputs.app >>|<< toString true >>",
    "<< split \",\" \"a,b,,c\" >>|<< (split \",\" \"a,b\")._1 >>|<< split \"\" \"abc\" >>|<< splitList \",\" \"a,b,,c\" >>|<< splitList \"\" \"héllo\" >>",
    "<< splitn \",\" 2 \"a,b,c\" >>|<< splitn \",\" 0 \"a,b\" >>|<< splitn \",\" -1 \"a,b,c\" >>|<< splitn \"\" 2 \"abc\" >>",
    "<< toStrings inputs.mixed >>|<< toStrings 5 >>|<< toStrings nil >>|<< join \"-\" inputs.list >>|<< join \",\" inputs.mixed >>|<< join \"/\" \"x\" >>",
    "<< sortAlpha inputs.dups >>|<< sortAlpha \"x\" >>|<< sortAlpha inputs.nums >>",
    "<< slugify \">=1.0.0-rc.0\" >>|<< slugify inputs.unicode >>|<< slugify \"  Tom & Jerry @ Home  \" >>|<< slugify \"___a__\" >>|<< slugify \"\" >>",
    "<< slugify \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbb\" >>|<< slugify \"Привет мир Ελληνικά 中文 한국어\" >>",
    "<< slugify 3 >>",
];

/// Numbers.
const NUMBERS: &[&str] = &[
    "<< atoi \"42\" >> << atoi \"x\" >> << atoi \"-7\" >> << atoi \" 5\" >> << atoi \"+3\" >>",
    "<< int \"12\" >> << int 2.9 >> << int -2.9 >> << int true >> << int nil >> << int \"1.5\" >> << int inputs.big >>",
    "<< int64 \"12\" >> << int64 inputs.f >> << float64 \"1.5\" >> << float64 3 >> << float64 \"x\" >> << float64 inputs.n >>",
    "<< typeOf (int 1) >> << typeOf (int64 1) >> << typeOf (float64 1) >> << typeOf (atoi \"1\") >>",
    "<< seq 5 >>|<< seq 3 1 >>|<< seq 0 >>|<< seq 1 2 10 >>|<< seq 10 -3 1 >>|<< seq 10 3 1 >>|<< seq >>|<< seq -2 >>",
    "<< seq inputs.n >>",
    "<< toDecimal \"0777\" >> << toDecimal 777 >> << toDecimal \"9\" >> << toDecimal \"x\" >>",
    "<< until 5 >>|<< until -3 >>|<< until 0 >>|<< untilStep 0 10 3 >>|<< untilStep 10 0 -4 >>|<< untilStep 0 10 0 >>|<< untilStep 10 0 2 >>",
    "<< add1 1 >> << add 1 2 \"3\" 4.9 >> << add >> << sub 10 3 >> << div 10 3 >> << mod 10 3 >> << mul 2 3 4 >> << mul 5 >>",
    "<< div 1 0 >>",
    "<< mod 1 0 >>",
    "<< div -7 2 >> << mod -7 2 >> << sub inputs.n inputs.f >>",
    "<< biggest 1 5 3 >> << max 1 \"9\" 3 >> << min 4 2 8 >> << min 1 >> << maxf 1.5 2 \"3.5\" >> << minf 1.5 -2 >>",
    "<< ceil 1.2 >> << floor 1.8 >> << ceil -1.2 >> << floor \"2.5\" >> << round 3.14159 2 >> << round 2.5 0 >> << round -2.5 0 >> << round 1.2345 3 0.4 >>",
    "<< round 123.456 -1 >>",
    "<< typeOf (add 1 2) >> << typeOf (ceil 1) >> << typeOf (until 2) >> << typeOf (seq 2) >>",
];

/// Lists and dicts.
const LISTS_AND_DICTS: &[&str] = &[
    "<< list 1 \"a\" nil >>|<< tuple >>|<< typeOf (list) >>",
    "<< append inputs.list \"d\" >>|<< push (list) 1 >>|<< mustAppend inputs.nums 4 >>|<< prepend inputs.list \"z\" >>|<< mustPrepend (list 1) 0 >>",
    "<< append \"x\" 1 >>",
    "<< append nil 1 >>",
    "<< first inputs.list >>|<< first (list) >>|<< mustFirst inputs.nums >>|<< last inputs.list >>|<< mustLast (list) >>",
    "<< first \"abc\" >>",
    "<< rest inputs.list >>|<< rest (list) >>|<< mustRest (list 1) >>|<< initial inputs.list >>|<< mustInitial (list) >>",
    "<< reverse inputs.list >>|<< reverse (list) >>|<< mustReverse inputs.nums >>",
    "<< reverse 5 >>",
    "<< uniq inputs.dups >>|<< mustUniq (list 1 1 2) >>|<< without inputs.list \"b\" >>|<< mustWithout inputs.dups \"a\" 1 >>",
    "<< has \"b\" inputs.list >> << has 4 inputs.nums >> << mustHas 1 inputs.dups >> << has 1 nil >>",
    "<< has 1 \"abc\" >>",
    "<< slice inputs.list 1 >>|<< slice inputs.list 0 2 >>|<< slice inputs.list >>|<< mustSlice (list) 0 >>|<< typeOf (slice (splitList \",\" \"a,b\") 1) >>",
    "<< slice inputs.list 2 1 >>",
    "<< slice \"abc\" 1 >>",
    "<< concat inputs.list inputs.nums (list) >>|<< concat >>|<< concat (list) >>",
    "<< concat inputs.list 1 >>",
    "<< chunk 2 inputs.mixed >>|<< mustChunk 5 inputs.list >>|<< chunk 1 (list) >>|<< typeOf (chunk 2 inputs.list) >>",
    "<< compact inputs.mixed >>|<< mustCompact (list 0 \"\" nil false 1) >>",
    "<< dict \"a\" 1 \"b\" >>|<< dict >>|<< dict 1 2 true 3 >>|<< (dict \"x\" inputs.app).x.name >>",
    "<< get inputs.app \"name\" >>|<< get inputs.app \"nope\" >>|<< get (dict) \"x\" >>",
    "<< get (split \",\" \"a\") \"_0\" >>",
    "<< $d := dict \"a\" 1 >><< $_ := set $d \"b\" 2 >><< $d >>|<< unset $d \"a\" >>|<< $d >>|<< hasKey $d \"b\" >>|<< hasKey $d \"a\" >>",
    "<< $_ := set inputs \"added\" 1 >><< inputs.added >>",
    "<< pluck \"name\" inputs.app (dict \"name\" \"x\") (dict) >>|<< pluck \"k\" >>",
    "<< keys inputs.app | sortAlpha >>|<< keys (dict \"a\" 1) (dict \"a\" 2 ) >>|<< keys >>|<< values (dict \"only\" 1) >>",
    "<< pick inputs.app \"name\" \"port\" \"nope\" >>|<< omit inputs.app \"tags\" \"nested\" >>",
    "<< dig \"app\" \"nested\" \"deep\" \"x\" \"dflt\" inputs >>|<< dig \"app\" \"nope\" \"dflt\" inputs >>|<< dig \"tenant\" \"dflt\" inputs >>",
    "<< dig \"tenant\" \"x\" \"dflt\" inputs >>",
    "<< dig \"a\" inputs >>",
];

/// Defaults, JSON, types, paths, encoding.
const DEFAULTS_TYPES_ENCODING: &[&str] = &[
    "<< default \"x\" \"\" >>|<< default \"x\" inputs.tenant >>|<< default 5 0 >>|<< inputs.nil | default \"d\" >>|<< default \"x\" >>|<< default \"x\" (list) >>|<< default \"x\" (dict \"a\" 1) >>",
    "<< empty 0 >> << empty \"\" >> << empty inputs.emptyList >> << empty inputs.emptyMap >> << empty nil >> << empty false >> << empty 0.0 >> << empty inputs.app >> << empty (toDate \"2006\" \"2020\") >>",
    "<< coalesce 0 \"\" \"x\" 1 >>|<< coalesce >>|<< coalesce 0 nil >>|<< all 1 \"a\" true >> << all 1 0 >> << all >> << any 0 \"\" nil >> << any 0 1 >> << any >>",
    "<< fromJson inputs.json >>|<< (fromJson inputs.json).c >>|<< typeOf (fromJson \"1\") >>|<< fromJson \"[1,\\\"a\\\"]\" >>|<< fromJson \"bad\" >>|<< fromJson \"\" >>",
    "<< mustFromJson \"{\" >>",
    "<< toJson inputs.app >>|<< toJson \"<a&b>\" >>|<< toRawJson \"<a&b>\" >>|<< toJson nil >>|<< toJson 1.5 >>|<< toJson inputs.tiny >>|<< toJson 1e21 >>|<< toJson 1e-7 >>|<< toJson (list) >>|<< toJson inputs.mixed >>",
    "<< toPrettyJson inputs.app >>|<< toPrettyJson (list) >>|<< toPrettyJson (dict) >>|<< mustToPrettyJson (list 1 (dict \"a\" (list))) >>",
    "<< mustToJson (dict \"k\" \"\\u2028\\t\\b\\f\\u0001\") >>|<< mustToRawJson inputs.list >>|<< toJson (toDate \"2006-01-02\" \"2020-05-06\") >>",
    "<< ternary \"y\" \"n\" true >> << ternary \"y\" \"n\" false >> << ternary \"y\" \"n\" inputs.b >>",
    "<< ternary 1 2 3 >>",
    "<< typeOf 1 >> << typeOf 1.0 >> << typeOf \"s\" >> << typeOf nil >> << typeOf inputs.n >> << typeOf inputs.f >> << typeOf inputs.list >> << typeOf inputs.app >> << typeOf (splitList \",\" \"a\") >> << typeOf (split \",\" \"a\") >> << typeOf (toDate \"2006\" \"2020\") >> << typeOf true >> << typeOf (index \"a\" 0) >>",
    "<< typeIs \"int64\" inputs.n >> << typeIs \"string\" 1 >> << typeIsLike \"int\" 1 >> << kindOf inputs.list >> << kindOf inputs.app >> << kindOf nil >> << kindOf 1 >> << kindIs \"map\" inputs.app >> << kindIs \"slice\" \"x\" >> << kindOf (toDate \"2006\" \"2020\") >>",
    "<< deepEqual inputs.list (list \"a\" \"b\" \"c\") >> << deepEqual (list 1) (list 1) >> << deepEqual 1 1.0 >> << deepEqual inputs.app inputs.app >> << deepEqual (splitList \",\" \"a\") (list \"a\") >>",
    "<< base \"/a/b.txt\" >> << base \"\" >> << base \"/\" >> << base \"a/b/\" >> << dir \"/a/b/c\" >> << dir \"a\" >> << dir \"\" >> << clean \"a//b/../c/.\" >> << clean \"/../a\" >> << clean \"\" >> << ext \"a/b.tar.gz\" >> << ext \"a.b/c\" >> << isAbs \"/x\" >> << isAbs \"x\" >>",
    "<< osBase \"/a/b\" >> << osDir \"/a/b\" >> << osClean \"a/./b\" >> << osExt \"x.y\" >> << osIsAbs \"/\" >>",
    "<< b64enc \"hello\" >> << b64dec \"aGVsbG8=\" >> << b64dec \"aGVsbG8\" >> << b64dec \"!!!\" >> << b64dec \"aGVs\\nbG8=\" >> << b64enc \"\" >> << b64dec \"aGV=bG8=\" >>",
    "<< b32enc \"hello\" >> << b32dec \"NBSWY3DP\" >> << b32dec \"NBSWY3D\" >> << b32dec \"1234\" >> << b32enc \"a\" >> << b32dec \"ME======\" >> << b32dec \"ME=====\" >>",
];

/// YAML.
const YAML: &[&str] = &[
    "<< toYaml inputs.app >>",
    "<< toYaml inputs >>",
    "<< toYaml inputs.list | nindent 2 >>",
    "<< mustToYaml (dict \"a\" \"yes\" \"b\" \"1.0\" \"c\" \"0x1F\" \"d\" \"~\" \"e\" \"2001-12-14\" \"f\" \"12:30\" \"g\" \":x\" \"h\" \"x: y\" \"i\" \"a #b\" \"j\" \"- \" \"k\" \"@x\" \"l\" \"null\" \"m\" \"on\" \"n\" \"1_000\" \"o\" \".5\" \"p\" \"+1\") >>",
    "<< toYaml (dict \"t\" \"trailing \" \"l\" \" leading\" \"ml\" \"a\\n b\\n\" \"ml2\" \"a  \\nb\" \"tab\" \"a\\tb\" \"e\" \"é\" \"emoji\" \"😀\" \"bom\" \"\\ufeff\" \"nbsp\" \"a\\u00a0b\" \"nel\" \"a\\u0085b\" \"ls\" \"a\\u2028b\") >>",
    "<< toYaml (list (list) (dict) (list (list 1)) (dict \"a\" (dict \"b\" (list 1 2)))) >>",
    "<< toYaml 1.0 >><< toYaml 1e21 >><< toYaml 1e20 >><< toYaml 0.1 >><< toYaml 1e-7 >><< toYaml -0.0 >><< toYaml true >><< toYaml \"\" >><< toYaml \"a\\nb\" >>",
    "<< toYaml (dict \"long\" inputs.sentence \"longer\" (repeat 4 \"the quick brown fox jumps over \") \"q\" (printf \"'%s'\" (repeat 5 \"jumps over the lazy dog \"))) >>",
    "<< toYaml (dict \"b10\" 1 \"b9\" 2 \"B\" 3 \"a_1\" 4 \"a-1\" 5 \"a01\" 6 \"a1\" 7 \"\" 8 \"é\" 9 \"Z\" 10) >>",
    "<< toYaml (toDate \"2006-01-02\" \"2020-05-06\") >>",
    "<< toYaml (dict \"k\" \"x\\n\\n\") >><< toYaml (dict \"k\" \"\\nx\") >><< toYaml (dict \"k\" \" x\\ny\") >><< toYaml (dict \"multi\\nkey\" 1) >>",
];

/// Regular expressions.
const REGEX: &[&str] = &[
    "<< regexMatch \"^[a-z]+-[a-z]$\" inputs.tenant >> << regexMatch \"(\" \"x\" >> << mustRegexMatch \"\\\\d+\" \"a1\" >> << regexMatch \"\\\\w+\" \"é\" >>",
    "<< mustRegexMatch \"(\" \"x\" >>",
    "<< regexFindAll \"[a-c]\" \"abcabc\" 2 >>|<< regexFindAll \"[a-c]\" \"abcabc\" -1 >>|<< regexFindAll \"x\" \"abc\" -1 >>|<< regexFindAll \"a*\" \"baaac\" -1 >>|<< mustRegexFindAll \"\\\\d\" \"a1b2\" 0 >>",
    "<< regexFind \"[0-9]+\" \"abc123def456\" >>|<< mustRegexFind \"z\" \"abc\" >>|<< regexFind \"\\\\s\" \"a\\u00a0b c\" >>",
    "<< regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" >>|<< regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"$1W\" >>|<< mustRegexReplaceAll \"(?P<n>[0-9])\" \"a1\" \"<$n>\" >>|<< regexReplaceAllLiteral \"a(x*)b\" \"-ab-\" \"$1\" >>|<< mustRegexReplaceAllLiteral \"\\\\.\" \"a.b\" \"$\" >>",
    "<< regexSplit \"z+\" \"pizza\" -1 >>|<< regexSplit \"z+\" \"pizza\" 1 >>|<< regexSplit \"\" \"abc\" -1 >>|<< mustRegexSplit \",\" \"\" -1 >>|<< regexSplit \"a*\" \"baaac\" -1 >>|<< regexSplit \",\" \"a,b,c\" 2 >>|<< regexSplit \",\" \"a,b\" 0 >>",
    "<< regexQuoteMeta \"1.5-2.0?[x]{y}$^|()*+\\\\ #&~\" >>",
    "<< regexFindAll \"[\" \"x\" 1 >>",
];

/// Dates.
const DATES: &[&str] = &[
    "<< toDate \"2006-01-02\" \"2017-12-31\" >>|<< toDate \"2006-01-02T15:04:05Z07:00\" inputs.date >>|<< toDate \"02/01/2006 15:04\" \"29/02/2024 23:59\" >>|<< toDate \"2006-01-02\" \"bad\" >>",
    "<< toDate \"Jan 2, 2006 at 3:04pm (MST)\" \"Feb 3, 2013 at 7:54pm (PST)\" >>|<< toDate \"2006-01-02 15:04:05 -0700\" \"2020-01-02 03:04:05 +0530\" >>|<< toDate \"Mon Jan _2 15:04:05 2006\" \"Tue Mar  5 01:02:03 2019\" >>",
    "<< toDate \"2006-01-02T15:04:05.000Z07:00\" \"2020-01-02T03:04:05.120+00:00\" >>|<< toDate \"2006-01-02 15:04:05\" \"2020-01-02 03:04:05.5\" >>|<< toDate \"06-1-2 3PM\" \"99-12-31 11PM\" >>",
    "<< mustToDate \"2006-01-02\" \"2020-13-01\" >>",
    "<< mustToDate \"2006-01-02\" \"2021-02-29\" >>",
    "<< mustToDate \"2006-01-02\" \"2021-02-28x\" >>",
    "<< mustToDate \"2006-01-02\" \"20210228\" >>",
    "<< unixEpoch (toDate \"2006-01-02\" \"2020-01-01\") >> << unixEpoch (toDate \"2006-01-02T15:04:05Z07:00\" \"1969-12-31T23:59:59-01:00\") >>",
    "<< mustDateModify \"1h30m\" (toDate \"2006-01-02\" \"2020-01-01\") >>|<< must_date_modify \"-24h\" (toDate \"2006-01-02\" \"2020-03-01\") >>|<< mustDateModify \"1.5s\" (toDate \"2006-01-02\" \"2020-01-01\") >>",
    "<< mustDateModify \"x\" (toDate \"2006-01-02\" \"2020-01-01\") >>",
    "<< duration 90 >> << duration \"90\" >> << duration inputs.n >> << duration \"3661\" >> << duration \"0\" >> << duration \"-5\" >> << duration \"x\" >> << duration 1.5 >>",
    "<< durationRound \"2h10m\" >> << durationRound \"400d\" >> << durationRound \"1h\" >> << durationRound \"61s\" >> << durationRound \"0.5s\" >> << durationRound inputs.big >> << durationRound \"x\" >> << durationRound 5 >> << durationRound \"9000h\" >> << durationRound \"-3m\" >>",
];

/// Misc.
const MISC: &[&str] = &[
    "<< fail \"stop here\" >>",
    "<< hello >>",
    "<< urlParse inputs.url >>|<< (urlParse \"http://h\").host >>|<< urlParse \"mailto:a@b.c\" >>|<< urlParse \"/rel/path?x#y\" >>|<< urlParse \"http://[::1]:80/\" >>",
    "<< urlParse \"%zz\" >>",
    "<< urlParse \"http://a%zz#x\" >>",
    "<< urlParse \"http://a/%zz#%zq\" >>",
    "<< urlParse \"http://a/b#%zq\" >>",
    "<< urlParse \"http://a/\\x01#%zq\" >>",
    "<< urlJoin (urlParse inputs.url) >>|<< urlJoin (dict \"scheme\" \"https\" \"host\" \"h.io\" \"path\" \"a b/c?\" \"query\" \"x=1\" \"fragment\" \"f g!\") >>|<< urlJoin (dict \"path\" \"a:b\") >>|<< urlJoin (dict \"scheme\" \"mailto\" \"opaque\" \"x@y\") >>|<< urlJoin (dict \"userinfo\" \"u:p@w\" \"host\" \"h\") >>",
    "<< urlJoin (dict \"host\" 1) >>",
];

/// Every function, each with a few argument shapes.
pub fn functions() -> Vec<Case> {
    let i = inputs();
    [
        BUILTINS,
        STRINGS,
        NUMBERS,
        LISTS_AND_DICTS,
        DEFAULTS_TYPES_ENCODING,
        YAML,
        REGEX,
        DATES,
        MISC,
    ]
    .concat()
    .into_iter()
    .map(|t| Case::with(t, i.clone()))
    .collect()
}

/// The constructs of the language, and its errors.
const LANGUAGE: &[&str] = &[
    "plain text, no actions",
    "<< inputs.tenant >>/<< inputs.app.version >>/<< inputs.app.tags >>/<< inputs.app >>/<< inputs.nil >>/<< inputs.b >>/<< inputs.f >>/<< inputs.big >>/<< inputs.tiny >>",
    "<< inputs.missing >>",
    "<< inputs.app.missing >>",
    "<< inputs.nil.x >>",
    "<< inputs.tenant.x >>",
    "<< inputs.app.nested.deep >>",
    "<< . >>|<< .x >>",
    "<< $ >>",
    "a <<- \" b \" ->> c\n  <<- /* comment */ ->>  d <</* c2 */>> e",
    "x\n\n  <<- 1 >>\n  y <<- 2 ->>\n\n z",
    "<<-3>> <<- -3 ->> << 3 ->>|",
    "<< if inputs.b >>yes<< else >>no<< end >>|<< if inputs.off >>a<< else if inputs.n >>b<< else >>c<< end >>|<< if 0 >>x<< end >>",
    "<< with inputs.app >><< .name >>-<< .version >><< end >>|<< with inputs.nil >>x<< else >>none<< end >>|<< with $x := inputs.tenant >><< $x >><< end >>",
    "<< with inputs.off >>x<< else with inputs.app >><< .port >><< end >>",
    "<< range inputs.list >>[<< . >>]<< end >>|<< range $i, $v := inputs.list >><< $i >>=<< $v >>,<< end >>|<< range $k, $v := inputs.app >><< $k >>;<< end >>",
    "<< range inputs.emptyList >>x<< else >>empty<< end >>|<< range inputs.nil >>x<< else >>nil<< end >>|<< range $v := inputs.nums >><< $v >><< end >>",
    "<< range $i, $v := inputs.list >><< if eq $i 1 >><< continue >><< end >><< if eq $i 2 >><< break >><< end >><< $v >><< end >>|after",
    "<< range 3 >><< . >><< end >>|<< range $i := inputs.n >><< $i >><< end >>|<< range -1 >>x<< else >>none<< end >>",
    "<< range $i, $v := 3 >><< end >>",
    "<< range inputs.tenant >><< end >>",
    "<< range inputs.list >><< range inputs.nums >><< if eq . 1 >><< break >><< end >><< . >><< end >>;<< end >>",
    "<< $x := 1 >><< $x >><< $x = 2 >><< $x >><< if true >><< $x = 3 >><< $y := 4 >><< end >><< $x >>",
    "<< $x := \"a\" >><< range inputs.list >><< $x = . >><< end >><< $x >>",
    "<< $y >>",
    "<< define \"t1\" >>[<< . >>]<< end >><< template \"t1\" inputs.tenant >><< template \"t1\" >><< block \"b1\" inputs.n >>(<< . >>)<< end >>",
    "<< define \"rec\" >><< if gt . 0 >><< . >><< template \"rec\" (sub . 1) >><< end >><< end >><< template \"rec\" 5 >>",
    "<< template \"nope\" >>",
    "<< define \"loop\" >><< template \"loop\" . >><< end >><< template \"loop\" 1 >>",
    "<< (inputs).tenant >>|<< (index inputs.list 0) >>|<< (list 1 2) | len >>|<< inputs.list | join \",\" | upper >>|<< \"x\" | printf \"%s-%s\" \"y\" >>",
    "<< (dict \"a\" (dict \"b\" 1)).a.b >>|<< (get inputs \"app\").name >>",
    "<< (get inputs \"tenant\").x >>",
    "<< 1 >> << 1.5 >> << 1e3 >> << 0x1F >> << 0o17 >> << 0b101 >> << 1_000 >> << 'a' >> << -5 >> << +5 >> << true >> << \"s\" >> << `raw\\n` >> << 2.0 >>",
    "<< trunc 2.0 \"abcd\" >> << repeat 'a' \"\" >>",
    "<< 1 2 >>",
    "<< nil >>",
    "<< \"a\" | 1 >>",
    "<< nosuch >>",
    "<< date \"2006\" now >>",
    "<< env \"HOME\" >>",
    "<< uuidv4 >>",
    "<< if >><< end >>",
    "<< if true >>",
    "<< end >>",
    "<< else >>",
    "<< range $a, $b, $c := inputs.list >><< end >>",
    "<< break >>",
    "<< inputs.tenant",
    "<< \"unterminated >>",
    "<< 3x >>",
    "<< inputs 1 >>",
    "<< upper >>",
    "<< upper 1 2 >>",
    "<< upper 1 >>",
    "<< upper inputs.n >>",
    "<< upper inputs.nil >>",
    "<< trunc \"a\" \"b\" >>",
    "<< trunc inputs.f \"b\" >>",
    "<< get inputs.list \"a\" >>",
    "<< get nil \"a\" >>",
    "<< inputs.app.name 1 >>",
    "<< .Method >>",
    "<< ( >>",
    "<< ) >>",
    "<< | >>",
    "<< $x := >>",
    "<</* unclosed >>",
    "<< # >>",
    "<< inputs.tenant.x.y >>",
    "<< 9223372036854775808 >>",
    "<< 1.5.x >>",
    "<< index inputs.list -1 >>",
    "<< not >>",
    "<< and 1 >> << or 0 >> << 0 | and 1 >> << 1 | or 0 >> << and 0 (fail \"short\") >> << or 1 (fail \"short\") >>",
    "<< printf \"%v\" inputs.nil >>",
    "line 1\nline 2 << inputs.missing >>",
    "line 1\nline 2\n<< if >>",
    "<< define \"a\" >>x<< end >><< define \"a\" >>y<< end >>",
    "<< with inputs.app >><< $.tenant >>:<< .name >><< end >>",
    "<< range $k, $v := split \",\" \"b,a\" >><< $k >>=<< $v >> << end >>",
    "<< len (index inputs.mixed 6) >> << index inputs.mixed 6 \"k\" >>",
    "<< index inputs.mixed 2 >>|<< index inputs.mixed 5 0 >>",
    "<<- inputs.tenant ->>",
    "<<- /* only a comment */ ->>",
    "«<< inputs.unicode >>» << len \"é\" >>",
];

/// The language cases, and the ones with nil inputs.
pub fn language() -> Vec<Case> {
    let i = inputs();
    let mut out: Vec<Case> = Vec::new();
    out.extend(LANGUAGE.iter().map(|t| Case::with(*t, i.clone())));
    out.push(Case::t("<< inputs.x >>"));
    out.push(Case::t(
        "<< inputs >>|<< toJson inputs >>|<< toYaml inputs >>|<< len inputs >>|<< typeOf inputs >>|<< empty inputs >>",
    ));
    out.push(Case::t("<< $_ := set inputs \"x\" 1 >>"));
    out.push(Case::t("<< range inputs >>x<< else >>none<< end >>"));
    out
}
