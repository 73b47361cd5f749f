//! The subset of Dockerfile syntax the project's Dockerfile uses.

use crate::root;

/// One instruction: the keyword in upper case, its arguments with line continuations
/// joined, and the body of a heredoc (`RUN <<'NAME'`) when it has one.
#[derive(Debug)]
pub struct Instruction {
    pub keyword: String,
    pub args: String,
    pub heredoc: Option<String>,
}

#[derive(Debug)]
pub struct Stage {
    pub base: String,
    pub name: Option<String>,
    pub instructions: Vec<Instruction>,
}

pub struct Dockerfile {
    /// ARGs declared before the first FROM.
    pub global: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

/// Parses the subset of Dockerfile syntax the project uses: comments, line continuations
/// (comment lines inside them are dropped, as Docker does) and heredocs.
pub fn parse_dockerfile(text: &str) -> Dockerfile {
    let lines: Vec<&str> = text.lines().collect();
    let mut instructions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut logical = trimmed.to_string();
        while logical.ends_with('\\') {
            logical.pop();
            while i < lines.len() && lines[i].trim_start().starts_with('#') {
                i += 1;
            }
            assert!(i < lines.len(), "the Dockerfile ends inside a line continuation");
            logical.push_str(lines[i]);
            i += 1;
        }
        let (keyword, args) = logical.split_once(char::is_whitespace).unwrap_or((&logical, ""));
        let args = args.trim().to_string();
        let heredoc = args.find("<<").map(|start| {
            let marker = args[start + 2..].trim_start_matches('-');
            let name: String = marker
                .trim_start_matches(['\'', '"'])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(!name.is_empty(), "heredoc without a name: {logical}");
            let mut body = String::new();
            loop {
                assert!(i < lines.len(), "heredoc {name} is not closed");
                let line = lines[i];
                i += 1;
                if line.trim() == name {
                    break;
                }
                body.push_str(line);
                body.push('\n');
            }
            body
        });
        instructions.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args,
            heredoc,
        });
    }
    let mut global = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in instructions {
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction
                .args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_, alias, name] if alias.eq_ignore_ascii_case("as") => Some(name.to_string()),
                [_] => None,
                other => panic!("unexpected FROM {other:?}"),
            };
            stages.push(Stage {
                base: words[0].to_string(),
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(instruction);
        } else {
            global.push(instruction);
        }
    }
    Dockerfile { global, stages }
}

impl Dockerfile {
    pub fn read() -> Self {
        let text = std::fs::read_to_string(root().join("Dockerfile")).expect("read Dockerfile");
        parse_dockerfile(&text)
    }

    pub fn stage(&self, name: &str) -> &Stage {
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no stage named {name}"))
    }

    pub fn last(&self) -> &Stage {
        self.stages.last().expect("the Dockerfile has a FROM")
    }

    /// The default of an ARG, global or of a stage, without its quotes.
    pub fn arg_default(&self, name: &str) -> String {
        self.global
            .iter()
            .chain(self.stages.iter().flat_map(|s| s.instructions.iter()))
            .filter(|i| i.keyword == "ARG")
            .find_map(|i| {
                let (arg, value) = i.args.split_once('=')?;
                (arg == name).then(|| value.trim().trim_matches('"').to_string())
            })
            .unwrap_or_else(|| panic!("no ARG {name} with a default"))
    }
}

impl Stage {
    pub fn all(&self, keyword: &str) -> impl Iterator<Item = &Instruction> {
        self.instructions.iter().filter(move |i| i.keyword == keyword)
    }

    pub fn one(&self, keyword: &str) -> &Instruction {
        let found: Vec<_> = self.all(keyword).collect();
        assert_eq!(found.len(), 1, "expected one {keyword} in stage {:?}", self.name);
        found[0]
    }

    /// The data step: the one heredoc RUN of the stage.
    pub fn heredoc(&self) -> &str {
        let bodies: Vec<&str> = self.all("RUN").filter_map(|i| i.heredoc.as_deref()).collect();
        assert_eq!(bodies.len(), 1, "expected one heredoc RUN in stage {:?}", self.name);
        bodies[0]
    }
}

pub fn json_array(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("{args} is not the exec (JSON) form: {e}"))
}

#[test]
fn the_parser_reads_continuations_comments_and_heredocs() {
    let parsed = parse_dockerfile(
        "# syntax=docker/dockerfile:1.7\nARG A=1\nFROM x:${A} AS one\nRUN a \\\n    # dropped\n    b\nRUN <<'EOS'\necho hi\nEOS\nFROM scratch\nUSER 1:1\n",
    );
    assert_eq!(parsed.global.len(), 1);
    assert_eq!(parsed.stages.len(), 2);
    let one = &parsed.stages[0];
    assert_eq!((one.base.as_str(), one.name.as_deref()), ("x:${A}", Some("one")));
    assert_eq!(one.instructions[0].args, "a     b");
    assert_eq!(one.heredoc(), "echo hi\n");
    assert_eq!(parsed.stages[1].one("USER").args, "1:1");
    assert_eq!(parsed.arg_default("A"), "1");
}
