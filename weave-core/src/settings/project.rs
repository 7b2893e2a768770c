//! Which project calls belong to when code does not say: `WEAVE_PROJECT`, and the entity
//! of a project named without one, `WANDB_ENTITY`.

use super::env::{process_var, EnvReader};

/// `WEAVE_PROJECT` (unset or blank: `None`): the project when `init` is not given one.
pub fn project_from_env() -> Option<String> {
    EnvReader::new(process_var).text("WEAVE_PROJECT")
}

/// `WANDB_ENTITY` (unset or blank: `None`): the entity of a project named without one.
pub fn entity_from_env() -> Option<String> {
    EnvReader::new(process_var).text("WANDB_ENTITY")
}
