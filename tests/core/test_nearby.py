"""Open cases near a point: the nearest first, and only a few read however many share the spot."""

from __future__ import annotations

import random

from core.geo import Point, distance_m
from core.glossary import CoordSystem
from core.models import Case
from core.services.nearby import CANDIDATE_SLACK, nearby_open_cases
from tests.support import factories
from tests.support.geo import shifted

CENTRE = (31.8, 117.3)


def test_a_crowded_spot_gives_the_nearest_and_reads_only_a_few(session, settings) -> None:
    """A storm brings a hundred reports of one spot: the nearest five come back, in order, and the
    database hands over a bounded number of rows instead of all of them."""
    rng = random.Random(8)
    for _ in range(100):
        case = factories.case(session, settings)
        north, east = rng.uniform(-120, 120), rng.uniform(-120, 120)
        case.lat, case.lng = shifted(*CENTRE, north_m=north, east_m=east)
    wgs = factories.case(session, settings)  # one given in WGS-84, a metre north of the centre
    at_wgs = Point(*shifted(*CENTRE, north_m=1), CoordSystem.GCJ02).to(CoordSystem.WGS84)
    wgs.lat, wgs.lng, wgs.coord_system = at_wgs.lat, at_wgs.lng, CoordSystem.WGS84
    session.commit()
    session.expunge_all()

    at = Point(*CENTRE, CoordSystem.GCJ02)
    found = nearby_open_cases(session, at, limit=5)

    loaded = [item for item in session.identity_map.values() if isinstance(item, Case)]
    assert len(loaded) <= 2 * (5 + CANDIDATE_SLACK)  # one query per coordinate system
    everything = sorted((distance_m(at, Point(c.lat, c.lng, c.coord_system)), c.id) for c in session.query(Case).all())
    assert [(round(item.distance_m, 6), item.case.id) for item in found] == [
        (round(d, 6), case_id) for d, case_id in everything[:5]
    ]
    assert wgs.id in {item.case.id for item in found}  # the WGS-84 one, a metre away, is among them
