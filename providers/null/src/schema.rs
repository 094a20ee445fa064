//! The null provider's schema, attribute for attribute as hashicorp/null 2.1.2 declares it.

use tarn_sdk::{AttributeSchema, ProviderSchema, ResourceSchema, Type};

pub fn provider_schema() -> ProviderSchema {
    let null_resource = ResourceSchema::new(
        "A resource that does nothing: it exists only in state, and any change to its triggers replaces it. \
         Use it to sequence other actions.",
    )
    .attr(
        "triggers",
        AttributeSchema::optional(
            Type::Map { element: Box::new(Type::String) },
            "Arbitrary strings that, when changed, force the resource to be replaced.",
        )
        .force_new(),
    )
    .attr("id", AttributeSchema::computed(Type::String, "A random decimal integer assigned at create."));

    let mut schema = ProviderSchema::default();
    schema.resources.insert("null_resource".to_string(), null_resource);
    schema
}
