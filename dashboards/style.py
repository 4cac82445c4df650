"""The app's stylesheet, inlined into the page (no assets folder, no web fonts, nothing fetched)."""

CSS = """
* { box-sizing: border-box; }
body { margin: 0; font-family: "DejaVu Sans", Arial, sans-serif; color: #111827; background: #f3f4f6; }
header { display: flex; gap: 24px; align-items: baseline; padding: 14px 24px; background: #111827; color: #fff; }
header h1 { font-size: 18px; margin: 0; }
header nav a { color: #d1d5db; margin-right: 18px; text-decoration: none; font-size: 15px; }
header nav a.active { color: #fff; font-weight: bold; border-bottom: 2px solid #60a5fa; }
main { padding: 16px 24px 40px; }
.blurb { color: #4b5563; margin: 0 0 12px; }
.filters { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-end; margin-bottom: 14px; }
.filters label { display: block; font-size: 12px; color: #4b5563; margin-bottom: 4px; }
.filter { min-width: 220px; }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 14px; }
.kpi { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 14px; min-width: 170px;
       text-align: left; cursor: pointer; font: inherit; }
.kpi:hover:enabled { border-color: #2563eb; }
.kpi:disabled { color: inherit; cursor: default; }
.kpi .label { font-size: 12px; color: #4b5563; }
.kpi .value { font-size: 22px; font-weight: bold; margin: 2px 0; }
.kpi .note { font-size: 11px; color: #6b7280; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 14px; }
.panel { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px; min-height: 200px; }
.panel h2 { font-size: 15px; margin: 6px 8px; }
.empty-state { margin: 8px; padding: 18px; background: #f9fafb; border: 1px dashed #d1d5db; border-radius: 6px;
               color: #374151; min-height: 80px; }
.drill { margin-top: 14px; background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px; }
.drill h2 { font-size: 15px; margin: 4px 0 8px; }
.updated { font-size: 12px; color: #6b7280; }
"""
