"""Compiled reads: a query answered by a few statements whose JSON PostgreSQL builds.

The general executor resolves an answer field by field: for a page of 50 work items with their
patients, cases and visits, some 1,200 fields, each with its own resolver call, info object and
completion, which costs ten times what the statements do. Most requests are the same few
documents, and most of their fields are columns and relations of tables. For such a document
this module plans, once, what each root field needs (`cases.reads.projection.Shape`), and answers it
with the statements of that plan: the root list's page of ids (through the same `PageQuery`
the resolver builds, with the caller's scope), then one statement that builds every node's JSON
with everything below it, then the count if asked for. The answer goes out as the text the
database wrote.

Whatever this module cannot answer exactly as the executor would, it leaves to the executor
(`NotCompiled`): a field with a resolver of its own, a variable or an argument the resolver
refuses, a required value the database has not got. All of that is settled before any
statement runs, but the last, which only the nodes' JSON shows; the one statement that writes
(a card read's audit row) runs after every other and writes nothing for such a document, so a
request the executor takes over has written nothing. Everything else is the executor's as
before: parsing, validation, the permission and cost rules, error masking. On SQLite every
request takes the executor.

It runs as a schema extension (`CompiledExecution`: strawberry skips its own execution when an
extension has set the result), and, for a query already judged for a caller of the same
permission profile, straight from the route (`api.app.GraphQLRoute.known_answer`).
"""

from schema.compiled.execution import CompiledExecution
from schema.compiled.planner import NotCompiled
from schema.compiled.runner import OTHER_REASONS, CompiledReads, node_statements

__all__ = ["OTHER_REASONS", "CompiledExecution", "CompiledReads", "NotCompiled", "node_statements"]
