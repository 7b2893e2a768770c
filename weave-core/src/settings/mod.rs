//! Settings, and the one place that reads them from the environment: every `WEAVE_*`,
//! `WANDB_*` and `WF_*` variable the SDK knows is read here, with the Python SDK's names and
//! rules, and the default paths are defined here.
//!
//! - [`Settings`] (`client`): the client's settings, `init`'s input, with the environment
//!   applied on top ([`Settings::apply_env`]).
//! - [`ServerSettings`] (`server`): the Weave trace server's variables, for
//!   `weave-exporter`'s `ServerConfig`.
//! - [`project_from_env`], [`entity_from_env`] (`project`): `WEAVE_PROJECT`, `WANDB_ENTITY`.
//! - `paths`: [`DEFAULT_LOCAL_STORE_PATH`], [`DEFAULT_FALLBACK_PATH`],
//!   [`DEFAULT_JSONL_PATH`], [`local_store_path_from_env`], [`home_dir`], [`netrc_files`].
//! - `env`: how values are read ([`parse_bool`], [`parse_seconds`], [`EnvWarning`]).
//! - [`Secret`] (`secret`): the API key, never printed.
//!
//! Each reader has a `*_from`/`*_with` form that reads through a lookup instead of the
//! process environment (see [`crate::testing::env_lookup`]).

mod client;
mod env;
mod paths;
mod project;
mod secret;
mod server;

pub use client::{Settings, DEFAULT_REDACT_KEYS};
pub use env::{parse_bool, parse_seconds, EnvWarning};
pub use paths::{
    home_dir, local_store_path_from_env, netrc_files, DEFAULT_FALLBACK_PATH, DEFAULT_JSONL_PATH,
    DEFAULT_LOCAL_STORE_PATH, LOCAL_STORE_PATH_VAR,
};
pub use project::{entity_from_env, project_from_env};
pub use secret::Secret;
pub use server::{ServerSettings, DEFAULT_HTTP_TIMEOUT};
