"""The schema can be created and a grid stored (a first check of the fixtures)."""

from core.glossary import GridLevel
from core.models import Grid


def test_grid_round_trip(session):
    session.add(Grid(code="D1", name="示范区", level=GridLevel.DISTRICT, path="/D1/"))
    session.commit()
    assert session.query(Grid).one().name == "示范区"
