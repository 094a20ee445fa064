//! The fault provider's schema: the provider block's settings and `fault_object`.

use tarn_sdk::{AttributeSchema, ProviderSchema, ResourceSchema, Type};

pub fn provider_schema() -> ProviderSchema {
    let mut schema = ProviderSchema::default();
    schema.config.insert(
        "dir".into(),
        AttributeSchema::optional(
            Type::String,
            "Directory where every object is a JSON file <id>.json; objects live in memory when absent.",
        ),
    );
    schema.config.insert(
        "latency_ms".into(),
        AttributeSchema::optional(Type::Number, "Milliseconds every create, update, delete and read sleeps."),
    );
    schema.config.insert(
        "fail_on_call".into(),
        AttributeSchema::optional(
            Type::Number,
            "The Nth create, update or delete call overall fails (counting from 1).",
        ),
    );
    schema.config.insert(
        "fail_on_call_class".into(),
        AttributeSchema::optional(
            Type::String,
            "Class of the fail_on_call error: \"permanent\" (default) or \"transient\".",
        ),
    );

    let object = ResourceSchema::new("A test object whose every call can be slowed down, failed or hung on purpose.")
        .attr("name", AttributeSchema::optional(Type::String, "A free-form name."))
        .attr("value", AttributeSchema::optional(Type::String, "A free-form value, updated in place."))
        .attr("replace_key", AttributeSchema::optional(Type::String, "Changing it replaces the object.").force_new())
        .attr(
            "latency_ms",
            AttributeSchema::optional(
                Type::Number,
                "Milliseconds create, update, delete and read of this object sleep.",
            ),
        )
        .attr("fail_create", AttributeSchema::optional(Type::Bool, "Create fails with a permanent error."))
        .attr(
            "fail_update",
            AttributeSchema::optional(Type::Bool, "Update to these values fails with a permanent error."),
        )
        .attr("fail_delete", AttributeSchema::optional(Type::Bool, "Delete fails with a permanent error."))
        .attr(
            "partial_create",
            AttributeSchema::optional(Type::Bool, "Create makes the object, then reports it as partially created."),
        )
        .attr("hang_create", AttributeSchema::optional(Type::Bool, "Create makes the object, then never returns."))
        .attr(
            "fail_create_times",
            AttributeSchema::optional(Type::Number, "The first N create attempts fail with a transient error."),
        )
        .attr("id", AttributeSchema::computed(Type::String, "The object's id, assigned at create."));
    schema.resources.insert(crate::RESOURCE.into(), object);
    schema
}
