"""Which schema items alembic compares on a given database."""

__all__ = ["for_dialect"]


def for_dialect(dialect: str):
    """Leave out schema items declared for another database (e.g. PostgreSQL-only indexes)."""

    def include(obj, _name, _type, _reflected, _compare_to) -> bool:
        only = getattr(obj, "_ddl_if", None)
        return only is None or only.dialect in (None, dialect)

    return include
