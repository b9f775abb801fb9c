"""The actor kinds, by the name the coordinator gives them."""

from __future__ import annotations

import importlib

from actors.runtime.actor import Actor

STAGES = {
    "connection": "actors.stages.connection:ConnectionActor",
    "parser": "actors.stages.parser:ParserActor",
    "handler": "actors.stages.handler:HandlerActor",
    "simulator": "actors.stages.simulator:SimulatorActor",
    "replay": "actors.stages.replay:ReplayActor",
}


def actor_class(kind: str) -> type[Actor]:
    module_name, _, name = STAGES[kind].partition(":")
    cls: type[Actor] = getattr(importlib.import_module(module_name), name)
    return cls
