"""Whether a search's segment filters pick few enough rows that sorting them is a bounded
fallback for the index walk.

A search page walks the `(venue, field, id)` index of its ordering and keeps the rows that pass
the filters, which costs a page of rows when matches are spread along the ordering. Segment
filters break that when the segment sits at the far end of the walk: customers who never
bought (segment `new`, RFM `Prospects`) all have nothing spent and no lifetime value, so a
walk in descending order reaches them only after the rest of the venue (2 s on a million
profiles). When the venue's segment snapshot says the chosen segments are a small part of the
venue, the page's walk gets a time budget and, past it, the chosen rows are read through their
own index and sorted (0.1 to 0.3 s for 100,000 of a million). Segments at the near end of the
walk (VIPs in descending value) still take the walk's few milliseconds.

Pure: no Django import, so the rule is tested on its own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

# At most this share of the venue: beyond it, walking the ordering's index finds a page soon
# enough for most orderings, and sorting that many rows would cost more than it saves.
SORT_AT_MOST_SHARE = 0.15
# The ordering and single segment the (venue, segment, total_spent, id) index serves as is.
SEGMENT_ORDERED_FIELD = "total_spent"


def sort_filtered_rows(
    *,
    segments: Collection[str],
    rfm_segments: Collection[str],
    ordering_field: str,
    segment_counts: Mapping[str, int],
    rfm_segment_counts: Mapping[str, int],
    total: int,
) -> bool:
    """True when the rows the segment filters select are few enough to sort as a fallback.

    The counts come from the venue's snapshot; a segment it does not know counts as zero.
    """
    if (not segments and not rfm_segments) or total <= 0:
        return False
    if len(segments) == 1 and not rfm_segments and ordering_field == SEGMENT_ORDERED_FIELD:
        return False
    selected = [
        sum(counts.get(name, 0) for name in chosen)
        for chosen, counts in ((segments, segment_counts), (rfm_segments, rfm_segment_counts))
        if chosen
    ]
    return min(selected) <= SORT_AT_MOST_SHARE * total
