"""Goals files as the tests expect them, written out by hand: a file of one valid goal (the
plan's city revenue goal, in the file format's own words), the base that the goals-file
tests edit one key at a time; and what scenarios/plan-goals.yaml holds, in file order."""

ONE_GOAL = """\
goals:
  - id: g1
    name_en: City revenue
    name_zh: 全市营业收入
    section: 一(三)
    text_zh: 营业收入力争达到2000亿元
    metric: {variable: revenue, aggregate: sum}
    comparison: ">="
    target: 2000
    year: 2020
    unit: yiyuan/Year
    scope: city
"""

#: scenarios/plan-goals.yaml's goal ids, in file order
PLAN_GOAL_IDS = [
    "revenue_city",
    "revenue_park",
    "rd_share",
    "energy_per_output",
    "water_per_output",
    "cod_controlled",
    "nh3n_controlled",
    "so2_controlled",
    "nox_controlled",
]

#: the variables scenarios/plan-goals.yaml's metrics read, in file order
PLAN_GOAL_VARIABLES = [
    "revenue",
    "research_spending",
    "energy_use",
    "industrial_output",
    "water_use",
    "emissions",
]
