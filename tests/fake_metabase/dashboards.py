# dashboards.py — the dashboards of the fake catalogue (filled in phase 2).
#
# Owns: dashboard definitions, their dashcards/tabs/parameters, and the JSON
# shapes of GET /api/dashboard[/:id] per behaviour.


def install(cat):
    """Add the fixed dashboards (and dashboard questions) to catalog `cat`."""
    cat.dashboards = {}
    cat.dashcards = {}
