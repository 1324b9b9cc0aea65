//! GetTopic and GetSchema (`pubsub-api.md` §4.2, §4.3).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use forcebus_org::control::Rpc;

use crate::error::{PubSubError, rpc_id};
use crate::proto::{SchemaInfo, SchemaRequest, TopicInfo, TopicRequest};
use crate::{PubSub, auth};

pub(crate) fn get_topic(
    ps: &Arc<PubSub>,
    request: Request<TopicRequest>,
) -> Result<Response<TopicInfo>, Status> {
    let rpc = rpc_id();
    auth::authenticate(&ps.auth, request.metadata()).map_err(|e| e.status(&rpc))?;
    let name = &request.get_ref().topic_name;
    if let Some(e) = ps.injected(Rpc::GetTopic, name) {
        return Err(e.status(&rpc));
    }
    let topic = ps
        .topic(name)
        .ok_or_else(|| ps.topic_not_found(name).status(&rpc))?;
    tracing::debug!(rpc_id = %rpc, topic = %topic.name, "GetTopic answered.");
    Ok(Response::new(TopicInfo {
        topic_name: topic.name,
        tenant_guid: ps.org.id().to18(),
        can_publish: topic.can_publish,
        can_subscribe: topic.can_subscribe,
        schema_id: topic.schema_id,
        rpc_id: rpc,
    }))
}

pub(crate) fn get_schema(
    ps: &Arc<PubSub>,
    request: Request<SchemaRequest>,
) -> Result<Response<SchemaInfo>, Status> {
    let rpc = rpc_id();
    auth::authenticate(&ps.auth, request.metadata()).map_err(|e| e.status(&rpc))?;
    let id = &request.get_ref().schema_id;
    if let Some(e) = ps.injected(Rpc::GetSchema, "") {
        return Err(e.status(&rpc));
    }
    let json = ps
        .org
        .schemas()
        .json(id)
        .ok_or_else(|| PubSubError::SchemaNotFound(id.clone()).status(&rpc))?;
    Ok(Response::new(SchemaInfo {
        schema_json: json.to_string(),
        schema_id: id.clone(),
        rpc_id: rpc,
    }))
}

impl PubSub {
    pub(crate) fn topic_not_found(&self, name: &str) -> PubSubError {
        PubSubError::TopicNotFound {
            tenant: self.org.id().to18(),
            topic: name.to_owned(),
        }
    }
}
