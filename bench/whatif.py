"""The tap with one proposed optimisation applied in-process, to measure its gain before
anyone changes tap_partnerapi/ (bench-only; never used in production).

    python -m bench.whatif --config FILE --catalog FILE

``skip-deselect-walk``: singer-sdk calls ``pop_deselected_record_properties`` on every
record; it walks every key of every nested object (``_pa_raw`` and ``payload`` included)
and resolves each breadcrumb through ``SelectionMask.__missing__``, which does not cache.
When the catalog deselects nothing there is nothing to pop, so the walk is skipped.
"""

from __future__ import annotations

import typing as t

from singer_sdk.streams import core

_original = core.pop_deselected_record_properties
_all_selected: dict[int, bool] = {}


def pop_unless_all_selected(record: dict[str, t.Any], schema: dict, mask: t.Any,
                            breadcrumb: tuple[str, ...] = ()) -> None:
    verdict = _all_selected.get(id(mask))
    if verdict is None:
        verdict = _all_selected[id(mask)] = all(mask.values())
    if not verdict:
        _original(record, schema, mask, breadcrumb)


def main() -> None:
    core.pop_deselected_record_properties = pop_unless_all_selected  # type: ignore[assignment]
    from tap_partnerapi.tap import TapPartnerAPI

    TapPartnerAPI.cli()


if __name__ == "__main__":
    main()
