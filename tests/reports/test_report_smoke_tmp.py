from report_scenario import play_flood_drill
from responder.reports import build_report, render_html, render_markdown

def test_smoke(sqlite_ctx, clock):
    import time
    t=time.perf_counter()
    d = play_flood_drill(sqlite_ctx, clock)
    print("sim", time.perf_counter()-t)
    t=time.perf_counter()
    data = build_report(sqlite_ctx, [d.incident_id])
    print("build", time.perf_counter()-t)
    t=time.perf_counter()
    md = render_markdown(data, chart_link="x.png")
    html = render_html(data)
    print("render", time.perf_counter()-t)
    __import__("pathlib").Path("/tmp/rep/r.md").write_text(md)
    __import__("pathlib").Path("/tmp/rep/r.html").write_text(html)
    from responder.reports.charts import chart_png
    __import__("pathlib").Path("/tmp/rep/r.png").write_bytes(chart_png(data))


def test_smoke_readings(sqlite_ctx, clock):
    from datetime import timedelta
    from sqlalchemy import update
    from responder.storage.models import IncidentRow
    from responder.reports.readings import Reading
    d = play_flood_drill(sqlite_ctx, clock)
    with sqlite_ctx.engine.begin() as conn:
        row = conn.execute(__import__("sqlalchemy").select(IncidentRow.plan_snapshot)).scalar_one()
        row = dict(row); row["stations"] = [
            {"id": "longhe", "name": {"zh": "龙河大桥", "en": "Long River bridge"}, "kind": "river", "warning_level": 5.0, "guaranteed_level": 6.0},
            {"id": "rain1", "name": {"zh": "三建雨量站", "en": "Sanjian rain gauge"}, "kind": "rain", "threshold_24h_mm": 200}]
        conn.execute(update(IncidentRow).values(plan_snapshot=row))
    t0 = d.t0
    def source(session, ids, start, end):
        out = []
        t = start
        i = 0
        while t <= end:
            out.append(Reading("longhe", "water_level", t, 3.0 + 0.02 * i if i < 150 else 6.0 - 0.02*(i-150), "m"))
            out.append(Reading("rain1", "rain", t, 8.0 if 40 < i < 120 else 0.5, "mm"))
            t += timedelta(minutes=5); i += 1
        return out
    data = build_report(sqlite_ctx, [d.incident_id], readings=source)
    from responder.reports.charts import chart_png
    __import__("pathlib").Path("/tmp/rep/r2.png").write_bytes(chart_png(data))
    __import__("pathlib").Path("/tmp/rep/r2.md").write_text(render_markdown(data, chart_link="x.png"))
