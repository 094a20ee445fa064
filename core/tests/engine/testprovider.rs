//! A tiny in-memory provider for engine tests: `test_thing` (every attribute kind),
//! `test_volume` (irreversible destroy), `null_resource` (like hashicorp/null) and the data
//! source `test_lookup`. Refresh returns the recorded state, except objects whose `name`
//! starts with "gone", which read as deleted outside tarn.

use async_trait::async_trait;
use tarn_sdk::*;

pub struct TestProvider {
    pub name: String,
}

fn obj(attrs: &[(&str, Type)]) -> Type {
    Type::Object { attributes: attrs.iter().map(|(k, t)| (k.to_string(), t.clone())).collect(), optional: Vec::new() }
}

pub fn schema() -> ProviderSchema {
    let mut s = ProviderSchema::default();
    s.config.insert("region".into(), AttributeSchema::optional(Type::String, "region"));
    s.resources.insert(
        "test_thing".into(),
        ResourceSchema::new("a thing")
            .attr("id", AttributeSchema::computed(Type::String, "id"))
            .attr("name", AttributeSchema::required(Type::String, "name").force_new())
            .attr("size", AttributeSchema::optional(Type::Number, "size"))
            .attr("tags", AttributeSchema::optional(Type::Map { element: Box::new(Type::String) }, "tags"))
            .attr("secret", AttributeSchema::optional(Type::String, "secret").sensitive())
            .attr("zone", AttributeSchema::optional_computed(Type::String, "zone"))
            .attr(
                "rule",
                AttributeSchema::optional(Type::List { element: Box::new(obj(&[("port", Type::Number)])) }, "rules"),
            ),
    );
    let mut vol = ResourceSchema::new("a volume")
        .attr("id", AttributeSchema::computed(Type::String, "id"))
        .attr("name", AttributeSchema::required(Type::String, "name").force_new())
        .attr("size", AttributeSchema::optional(Type::Number, "size"));
    vol.destroy_is_irreversible = true;
    s.resources.insert("test_volume".into(), vol);
    // `plan` predicts `digest` from `name` (and lies about `name` when it is "liar"); it says
    // when it was shown a `secret`, which the planner must withhold.
    s.resources.insert(
        "test_digest".into(),
        ResourceSchema::new("a digest")
            .attr("id", AttributeSchema::computed(Type::String, "id"))
            .attr("name", AttributeSchema::required(Type::String, "name").force_new())
            .attr("secret", AttributeSchema::optional(Type::String, "secret").sensitive())
            .attr("digest", AttributeSchema::computed(Type::String, "digest"))
            .refines_plan(),
    );
    // Judges updates as OpenNebula's runtimes do: `flavour` "unknown" fails the plan, a new
    // flavour on an existing object requires replacement, and a new `size` keeps `endpoint` but
    // makes `state` known only after apply.
    s.resources.insert(
        "test_flavoured".into(),
        ResourceSchema::new("a runtime")
            .attr("id", AttributeSchema::computed(Type::String, "id"))
            .attr("name", AttributeSchema::required(Type::String, "name"))
            .attr("flavour", AttributeSchema::required(Type::String, "flavour"))
            .attr("size", AttributeSchema::optional(Type::Number, "size"))
            .attr("state", AttributeSchema::computed(Type::String, "state"))
            .refines_plan(),
    );
    // A value of any type: how a plugin's dynamic attribute reaches the planner.
    s.resources.insert(
        "test_blob".into(),
        ResourceSchema::new("a blob")
            .attr("id", AttributeSchema::computed(Type::String, "id"))
            .attr("payload", AttributeSchema::optional(Type::Any, "any value")),
    );
    s.data_sources.insert(
        "test_lookup".into(),
        ResourceSchema::new("lookup")
            .attr("key", AttributeSchema::required(Type::String, "key"))
            .attr("value", AttributeSchema::computed(Type::String, "value")),
    );
    s
}

pub fn null_schema() -> ProviderSchema {
    let mut s = ProviderSchema::default();
    s.resources.insert(
        "null_resource".into(),
        ResourceSchema::new("nothing").attr("id", AttributeSchema::computed(Type::String, "id")).attr(
            "triggers",
            AttributeSchema::optional(Type::Map { element: Box::new(Type::String) }, "triggers").force_new(),
        ),
    );
    s
}

#[async_trait]
impl Provider for TestProvider {
    fn name(&self) -> &str {
        &self.name
    }
    fn schema(&self) -> ProviderSchema {
        if self.name == "null" { null_schema() } else { schema() }
    }
    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        if req.state.get("name").and_then(Value::as_str).is_some_and(|n| n.starts_with("gone")) {
            return Ok(None);
        }
        Ok(Some(req.state))
    }
    /// Any ID imports, except `missing-*`: the object is named after its ID.
    async fn import(&self, _type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        if id.starts_with("missing") {
            return Ok(None);
        }
        Ok(Some(Value::map([("id", Value::string(id)), ("name", Value::string(format!("found-{id}")))])))
    }
    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        let key = req.config.get("key").and_then(Value::as_str).unwrap_or_default().to_string();
        Ok(Value::map([("key", Value::string(key.clone())), ("value", Value::string(format!("looked-up-{key}")))]))
    }
    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        let mut planned = req.proposed;
        if req.type_name == "test_digest"
            && let Value::Map(m) = &mut planned
            && let Some(name) = m.get("name").and_then(Value::as_str).map(str::to_string)
        {
            let seen = if m.get("secret").and_then(Value::as_str).is_some() { "-and-a-secret" } else { "" };
            m.insert("digest".into(), Value::string(format!("digest-of-{name}{seen}")));
            if name == "liar" {
                m.insert("name".into(), Value::string("something else"));
            }
        }
        let mut requires_replace = Vec::new();
        if req.type_name == "test_flavoured" {
            let flavour = planned.get("flavour").and_then(Value::as_str).unwrap_or_default().to_string();
            if flavour == "unknown" {
                return Err(ProviderError::permanent("unknown flavour \"unknown\": there is no such template"));
            }
            let before = req.prior.as_ref().map(|p| (p.get("flavour").cloned(), p.get("size").cloned()));
            if let (Some((was, size)), Value::Map(m)) = (before, &mut planned) {
                if was.as_ref().and_then(Value::as_str) != Some(flavour.as_str()) {
                    requires_replace.push("flavour".to_string());
                }
                if size.as_ref() != m.get("size") {
                    m.insert("state".into(), Value::Unknown);
                }
            }
        }
        Ok(PlanResponse { planned, requires_replace })
    }
    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        Ok(req.planned)
    }
    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        Ok(req.planned)
    }
    async fn delete(&self, _req: DeleteRequest) -> Result<(), ProviderError> {
        Ok(())
    }
    async fn adopt(&self, _req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        Ok(None)
    }
}
