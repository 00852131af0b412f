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
