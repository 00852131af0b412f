"""Drills: a scenario played through the real use cases on a virtual clock, in a database of its own.

``run.run_scenario`` is the whole ``drill run`` (scenario file in, drill database and after-action report out);
``runner.DrillRunner`` is its event loop, ``gauges`` hands the scenario's readings to the feed cycle and
``people`` plays how each person answers. The scenario model and its pure logic are ``responder.domain.drills``.
"""
