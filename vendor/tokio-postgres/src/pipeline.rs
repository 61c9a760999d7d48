//! Vectra's addition to tokio-postgres 0.7.18 (see `VECTRA.md` at the
//! crate's root): several statements sent as one pipeline that ends in a
//! single Sync.
//!
//! `Client::query` and its siblings end every statement with a Sync, and
//! the server flushes its output at every ReadyForQuery that a Sync earns:
//! a pipeline of four statements costs the server four `send` calls and the
//! client four wake-ups (rust-postgres issue #1213). Here the statements'
//! Bind/Execute messages follow one another and one Sync ends them, so the
//! server answers all of them in one flush. Without an explicit `BEGIN`
//! among them, the server runs them in one implicit transaction: it commits
//! at the Sync if every statement succeeded; at the first error it skips the
//! remaining statements up to the Sync and rolls the transaction back
//! (PostgreSQL's documentation, "Pipelining" in "Message Flow").
use crate::client::InnerClient;
use crate::codec::FrontendMessage;
use crate::connection::RequestMessages;
use crate::prepare::get_type;
use crate::query::{encode_bind, encode_bind_raw};
use crate::types::{ToSql, Type};
use crate::{Column, Error, Row, Statement};
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use std::sync::Arc;

/// One statement of a pipeline ([`crate::Client::query_pipeline`]).
#[derive(Clone, Copy)]
pub enum Pipelined<'a> {
    /// A prepared statement and its values: Bind, Execute.
    Prepared(&'a Statement, &'a [&'a (dyn ToSql + Sync)]),
    /// SQL text and its values with their types, as the unnamed statement
    /// (what `Client::query_typed` sends, for a transaction-mode pooler):
    /// Parse, Bind, Describe, Execute.
    Typed(&'a str, &'a [(&'a (dyn ToSql + Sync), Type)]),
}

pub async fn query_pipeline(
    client: &Arc<InnerClient>,
    statements: &[Pipelined<'_>],
) -> Result<Vec<Vec<Row>>, Error> {
    let buf = client.with_buf(|buf| {
        for statement in statements {
            match *statement {
                Pipelined::Prepared(statement, params) => {
                    encode_bind(statement, params.iter().copied(), "", buf)?;
                }
                Pipelined::Typed(query, params) => {
                    let oids = params.iter().map(|(_, t)| t.oid()).collect::<Vec<_>>();
                    frontend::parse("", query, oids, buf).map_err(Error::parse)?;
                    encode_bind_raw("", params.iter().map(|(v, t)| (*v, t.clone())), "", buf)?;
                    frontend::describe(b'S', "", buf).map_err(Error::encode)?;
                }
            }
            frontend::execute("", 0, buf).map_err(Error::encode)?;
        }
        frontend::sync(buf);
        Ok(buf.split().freeze())
    })?;
    let mut responses = client.send(RequestMessages::Single(FrontendMessage::Raw(buf)))?;

    let mut out = Vec::with_capacity(statements.len());
    for statement in statements {
        let statement = match *statement {
            Pipelined::Prepared(statement, _) => {
                match responses.next().await? {
                    Message::BindComplete => {}
                    _ => return Err(Error::unexpected_message()),
                }
                statement.clone()
            }
            Pipelined::Typed(..) => {
                let mut columns = Vec::new();
                loop {
                    match responses.next().await? {
                        Message::ParseComplete
                        | Message::BindComplete
                        | Message::ParameterDescription(_) => {}
                        Message::NoData => break,
                        Message::RowDescription(description) => {
                            let mut fields = description.fields();
                            while let Some(field) = fields.next().map_err(Error::parse)? {
                                columns.push(Column {
                                    name: field.name().to_string(),
                                    table_oid: Some(field.table_oid()).filter(|n| *n != 0),
                                    column_id: Some(field.column_id()).filter(|n| *n != 0),
                                    type_modifier: field.type_modifier(),
                                    r#type: get_type(client, field.type_oid()).await?,
                                });
                            }
                            break;
                        }
                        _ => return Err(Error::unexpected_message()),
                    }
                }
                Statement::unnamed(vec![], columns)
            }
        };
        let mut rows = Vec::new();
        loop {
            match responses.next().await? {
                Message::DataRow(body) => rows.push(Row::new(statement.clone(), body)?),
                Message::CommandComplete(_) | Message::EmptyQueryResponse => break,
                _ => return Err(Error::unexpected_message()),
            }
        }
        out.push(rows);
    }
    match responses.next().await? {
        Message::ReadyForQuery(_) => Ok(out),
        _ => Err(Error::unexpected_message()),
    }
}
