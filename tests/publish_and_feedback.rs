//! `weave::publish` and feedback, through the public API with calls captured in memory:
//! refs are computed locally (sanitized name, Weave's digest), a ref passed to an op is
//! recorded as its URI, and reactions and notes point at their call.

use serde_json::json;
use weave::feedback::FeedbackError;
use weave::{ObjectRef, PublishError};

#[weave::op]
fn uses_config(config: &ObjectRef, n: u32) -> u32 {
    let call = weave::current_call().expect("inside an op");
    call.add_reaction("🚀").expect("reaction");
    call.add_note("looked fine").expect("note");
    n + 1
}

#[test]
fn publish_returns_a_ref_computed_locally_and_a_ref_input_is_stored_as_its_uri() {
    let calls = weave::testing::capture();
    let value = json!({"model": "gpt-4o", "temperature": 0.5});
    let r = weave::publish("My Config!", &value).unwrap();
    assert_eq!(r.name(), "My-Config");
    assert_eq!(r.digest(), weave::refs::object_digest(&value));
    assert_eq!(r.uri(), format!("weave:///{}/object/My-Config:{}", weave::testing::TEST_PROJECT, r.digest()));
    assert_eq!(weave::publish("My Config!", &value).unwrap(), r, "same value, same version");
    let objects = calls.objects();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0].value, value);

    assert_eq!(uses_config(&r, 1), 2);
    let call = &calls.calls_of("uses_config")[0];
    assert_eq!(call.inputs(), &json!({"config": r.uri(), "n": 1}));

    let feedback = calls.feedback();
    assert_eq!(feedback.len(), 2);
    assert!(feedback
        .iter()
        .all(|f| f.weave_ref() == format!("weave:///{}/call/{}", weave::testing::TEST_PROJECT, call.id())));
    assert_eq!(feedback[0].feedback_type, "wandb.reaction.1");
    assert_eq!(feedback[0].payload["emoji"], "🚀");
    assert_eq!(feedback[1].feedback_type, "wandb.note.1");
    assert_eq!(feedback[1].payload["note"], "looked fine");
}

#[test]
fn feedback_by_call_id_and_its_limits() {
    let calls = weave::testing::capture();
    let id = weave::Id::now_v7();
    weave::feedback::add_reaction(id, "👍").unwrap();
    assert_eq!(weave::feedback::add_note(id, ""), Err(FeedbackError::InvalidNote("it is empty".into())));
    assert!(matches!(weave::feedback::add_note(id, &"x".repeat(1025)), Err(FeedbackError::InvalidNote(_))));
    assert_eq!(weave::feedback::add_reaction(id, " "), Err(FeedbackError::EmptyReaction));
    assert_eq!(calls.feedback().len(), 1);
    assert_eq!(calls.feedback()[0].call_id, id);
}

#[test]
fn publish_and_feedback_need_a_client_and_json_values() {
    let calls = weave::testing::capture();
    let not_json = std::collections::HashMap::from([((1, 2), 3)]);
    assert!(matches!(weave::publish("x", &not_json), Err(PublishError::Serialize(_))));
    assert!(matches!(weave::publish("!!!", &1), Err(PublishError::InvalidName(_))));
    calls.finish(); // uninstalls the client; the capture lock is still held
    assert_eq!(weave::publish("x", &1).unwrap_err(), PublishError::NotInitialized);
    assert_eq!(weave::feedback::add_note(weave::Id::now_v7(), "n"), Err(FeedbackError::NotInitialized));
}
