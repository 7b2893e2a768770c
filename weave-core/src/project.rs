//! Project names: `entity/project` or `project`, checked as Weave checks them.

use std::fmt;

/// The entity used when a project is given without one and no server says otherwise.
pub const LOCAL_ENTITY: &str = "local";

/// A project: `entity/project`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectId {
    entity: String,
    project: String,
}

/// Why a project name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidProject {
    /// The name given.
    pub given: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for InvalidProject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid Weave project name {:?}: {} (expected \"entity/project\" or \"project\")",
            self.given, self.reason
        )
    }
}

impl std::error::Error for InvalidProject {}

impl ProjectId {
    /// Parses `entity/project` or `project` (then the entity is `default_entity`).
    pub fn parse(name: &str, default_entity: &str) -> Result<ProjectId, InvalidProject> {
        let bad = |reason: &str| InvalidProject { given: name.to_string(), reason: reason.to_string() };
        let trimmed = name.trim();
        let (entity, project) = match trimmed.split_once('/') {
            Some((e, p)) => (e, p),
            None => (default_entity, trimmed),
        };
        if project.contains('/') {
            return Err(bad("it has more than one '/'"));
        }
        for (what, part) in [("entity", entity), ("project", project)] {
            if part.is_empty() {
                return Err(bad(&format!("the {what} part is empty")));
            }
            if part.len() > 128 {
                return Err(bad(&format!("the {what} part is longer than 128 characters")));
            }
            if let Some(c) =
                part.chars().find(|c| matches!(c, '\\' | '#' | '?' | '%' | ':') || c.is_control() || c.is_whitespace())
            {
                return Err(bad(&format!("the {what} part contains {c:?}")));
            }
        }
        Ok(ProjectId { entity: entity.to_string(), project: project.to_string() })
    }

    /// The entity.
    pub fn entity(&self) -> &str {
        &self.entity
    }

    /// The project.
    pub fn project(&self) -> &str {
        &self.project
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.entity, self.project)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(ProjectId::parse("e/p", "local").map(|p| p.to_string()), Ok("e/p".to_string()));
        assert_eq!(ProjectId::parse("p", "local").map(|p| p.to_string()), Ok("local/p".to_string()));
        for bad in ["", "/p", "e/", "a/b/c", "my project", "e/p?x"] {
            let err = ProjectId::parse(bad, "local").expect_err(bad);
            assert!(err.to_string().contains("invalid Weave project name"), "{err}");
        }
    }
}
