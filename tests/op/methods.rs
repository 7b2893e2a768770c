//! Methods: named `Type.method`, `self` captured as the value; associated functions, async
//! methods, trait impls and default trait methods.

use crate::support::{block_on, only};
use serde::Serialize;
use serde_json::json;
use weave::op;
use weave::testing::capture;

#[derive(Serialize, Debug, Default)]
pub(crate) struct Planner {
    steps: Vec<String>,
}

impl Planner {
    #[op]
    fn new() -> Self {
        Planner::default()
    }

    #[op]
    fn plan(&self, goal: &str) -> usize {
        goal.len() + self.steps.len()
    }

    #[op]
    fn add_step(&mut self, step: &str) {
        self.steps.push(step.to_string());
    }

    #[op]
    fn steps_mut(&mut self) -> &mut Vec<String> {
        &mut self.steps
    }

    #[op]
    fn into_steps(self) -> Vec<String> {
        self.steps
    }

    #[op]
    fn helper(n: u8) -> u8 {
        n
    }

    #[op]
    async fn plan_async(&self, goal: String) -> usize {
        goal.len()
    }
}

#[test]
fn methods_are_named_type_dot_method_and_capture_self() {
    let cap = capture();
    let mut planner = Planner::new();
    planner.add_step("look");
    assert_eq!(planner.plan("go"), 3);
    planner.steps_mut().push("leap".into());
    assert_eq!(planner.into_steps(), ["look", "leap"]);
    let calls = cap.calls();
    let names: Vec<&str> = calls.iter().map(|c| c.op_name()).collect();
    assert_eq!(names, ["Planner.new", "Planner.add_step", "Planner.plan", "Planner.steps_mut", "Planner.into_steps"]);
    assert_eq!(calls[0].output(), &json!({"steps": []}));
    assert_eq!(calls[1].inputs(), &json!({"self": {"steps": []}, "step": "look"}));
    assert_eq!(calls[2].inputs(), &json!({"self": {"steps": ["look"]}, "goal": "go"}));
    assert_eq!(calls[3].output(), &json!(["look"]));
    assert_eq!(calls[4].inputs(), &json!({"self": {"steps": ["look", "leap"]}}));
}

#[test]
fn associated_fns_without_self_are_named_like_free_fns() {
    let cap = capture();
    assert_eq!(Planner::helper(7), 7);
    assert_eq!(only(&cap.calls()).op_name(), "helper");
}

#[test]
fn async_methods_are_named_type_dot_method() {
    let cap = capture();
    let planner = Planner::default();
    assert_eq!(block_on(planner.plan_async("abc".into())), 3);
    let call = only(&cap.calls()).clone();
    assert_eq!(call.op_name(), "Planner.plan_async");
    assert_eq!(call.inputs(), &json!({"self": {"steps": []}, "goal": "abc"}));
    assert_eq!(call.output(), &json!(3));
}

trait Tool {
    fn run(&self, input: u32) -> u32;
    async fn run_async(&self, input: u32) -> u32;
}

#[derive(Serialize)]
struct Doubler;

impl Tool for Doubler {
    #[op]
    fn run(&self, input: u32) -> u32 {
        input * 2
    }

    #[op]
    async fn run_async(&self, input: u32) -> u32 {
        input * 2
    }
}

#[test]
fn trait_impl_methods_are_recorded() {
    let cap = capture();
    assert_eq!(Doubler.run(2), 4);
    assert_eq!(block_on(Doubler.run_async(3)), 6);
    let calls = cap.calls();
    assert_eq!(calls[0].op_name(), "Doubler.run");
    assert_eq!(calls[0].inputs(), &json!({"self": null, "input": 2}));
    assert_eq!(calls[1].op_name(), "Doubler.run_async");
    assert_eq!(calls[1].output(), &json!(6));
}

trait Greeter {
    fn who(&self) -> &'static str;

    #[op]
    fn greet(&self) -> String {
        format!("hi from {}", self.who())
    }
}

#[derive(Serialize)]
struct English;

#[derive(Serialize)]
struct French;

impl Greeter for English {
    fn who(&self) -> &'static str {
        "en"
    }
}

impl Greeter for French {
    fn who(&self) -> &'static str {
        "fr"
    }
}

#[test]
fn a_default_trait_method_is_named_after_each_implementor() {
    let cap = capture();
    assert_eq!(English.greet(), "hi from en");
    assert_eq!(French.greet(), "hi from fr");
    let names: Vec<String> = cap.calls().iter().map(|c| c.op_name().to_string()).collect();
    assert_eq!(names, ["English.greet", "French.greet"]);
}
