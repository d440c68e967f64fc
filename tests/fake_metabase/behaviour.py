# behaviour.py — the version-dependent switches of the fake server.
#
# Owns: one Behaviour object per emulated Metabase release.  Every place in
# the server that answers differently by version reads a flag from here,
# so the differences between "old" (≈ v0.46.6) and "new" (≈ v0.63.1) are
# listed in exactly one spot (see metabase-api.md §10.2).


class Behaviour:
    def __init__(self, name, version, *, card_type_field, mbql5, api_keys, stream_connection_close,
                 export_error_era, kebab_params, export_json_body, export_query_string,
                 dashcards_key, tabs_key, dashboard_questions, metric_cards, format_rows_param,
                 entity_id_lookup, specific_errors, fully_param_key, collection_extra_keys):
        self.name = name
        self.version = version
        self.card_type_field = card_type_field        # "type" (>= 0.49) or "dataset"
        self.mbql5 = mbql5                            # dataset_query as MBQL 5 (>= 0.57)
        self.api_keys = api_keys                      # X-Api-Key honoured (>= 0.49)
        self.stream_connection_close = stream_connection_close  # Connection: close on streams (>= 0.50)
        self.export_error_era = export_error_era      # "A": in-band JSON; "C": status / abort
        self.kebab_params = kebab_params              # collection items accept kebab-case params
        self.export_json_body = export_json_body      # exports read a JSON body (>= 0.53)
        self.export_query_string = export_query_string  # exports read the query string (<= 0.52)
        self.dashcards_key = dashcards_key            # "dashcards" (>= 0.48) / "ordered_cards"
        self.tabs_key = tabs_key                      # "tabs" / "ordered_tabs"
        self.dashboard_questions = dashboard_questions  # cards saved in dashboards hidden (>= 0.53)
        self.metric_cards = metric_cards              # type "metric" cards exist (>= 0.50)
        self.format_rows_param = format_rows_param    # format_rows honoured (>= 0.49.3)
        self.entity_id_lookup = entity_id_lookup      # /api/card/<entity_id> (>= 0.50)
        self.specific_errors = specific_errors        # Malli "specific-errors" in 400 bodies
        self.fully_param_key = fully_param_key        # fully_parametrized / fully_parameterized
        self.collection_extra_keys = collection_extra_keys  # is_personal, can_delete, ... (new)


OLD = Behaviour(
    "old",
    {"tag": "v0.46.6", "hash": "b5dabc2", "date": "2023-07-03", "branch": "release-x.46.x"},
    card_type_field="dataset", mbql5=False, api_keys=False, stream_connection_close=False,
    export_error_era="A", kebab_params=False, export_json_body=False, export_query_string=True,
    dashcards_key="ordered_cards", tabs_key="ordered_tabs", dashboard_questions=False,
    metric_cards=False, format_rows_param=False, entity_id_lookup=False, specific_errors=False,
    fully_param_key="fully_parametrized", collection_extra_keys=False,
)

NEW = Behaviour(
    "new",
    {"tag": "v0.63.1", "hash": "7c1e0a4", "date": "2026-07-21", "branch": "release-x.63.x"},
    card_type_field="type", mbql5=True, api_keys=True, stream_connection_close=True,
    export_error_era="C", kebab_params=True, export_json_body=True, export_query_string=False,
    dashcards_key="dashcards", tabs_key="tabs", dashboard_questions=True,
    metric_cards=True, format_rows_param=True, entity_id_lookup=True, specific_errors=True,
    fully_param_key="fully_parameterized", collection_extra_keys=True,
)

BY_NAME = {"old": OLD, "new": NEW}
