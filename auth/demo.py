"""Demo accounts for the embedded demo (`make run` on an empty database): one per role, each tied to a real
organisation of the register. Never in production (`PERISPIEGEL_ENV=production`)."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from auth.users import add_user, count_users
from settings import is_production
from tables.register import read_register


def _demo_hospital(engine: Engine) -> tuple[str, str] | None:
    """(hospital code, its VSV code) of the first hospital, by code, whose VSV is in the register."""
    register = read_register(engine)
    vsvs = register.filter(pl.col("org_type") == "vsv")["org_code"]
    hospitals = register.filter((pl.col("org_type") == "hospital") & pl.col("vsv_code").is_in(vsvs.implode()))
    first = hospitals.sort("org_code").head(1).rows(named=True)
    return (first[0]["org_code"], first[0]["vsv_code"]) if first else None


def create_demo_users(engine: Engine) -> list[dict]:
    """When there are no accounts yet (and not in production), create demo-zorgverlener (provider of a hospital),
    demo-vsv (that hospital's VSV), demo-onderzoeker (researcher) and demo-beheerder (admin) with generated
    passwords. Returns [{username, role, org_code, password}] to print once; [] when nothing was created."""
    if is_production() or count_users(engine) > 0:
        return []
    hospital = _demo_hospital(engine)
    accounts: list[tuple[str, str, str | None, str]] = [("demo-beheerder", "admin", None, "Demo beheerder"),
                                                        ("demo-onderzoeker", "researcher", None, "Demo onderzoeker")]
    if hospital:
        accounts += [("demo-zorgverlener", "provider", hospital[0], "Demo zorgverlener"),
                     ("demo-vsv", "vsv", hospital[1], "Demo VSV")]
    created = []
    for username, role, org_code, name in accounts:
        user, password = add_user(engine, username, role, org_code=org_code, display_name=name, actor="demo")
        created.append({"username": user.username, "role": role, "org_code": org_code, "password": password})
    return created
