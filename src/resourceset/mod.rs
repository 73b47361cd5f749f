//! ResourceSet (SPEC-resourceset §11), pure so far: the template engine and the input ids
//! ([`template`]), how input sets combine ([`inputs`]) and the build of the objects
//! ([`build`]).

pub mod build;
mod cel_sets;
pub mod config_sources;
pub mod exported;
pub mod inputs;
pub mod offline;
pub mod provider_filter;
pub mod ready_expr;
pub mod schedule;
pub mod selection;
pub mod template;
