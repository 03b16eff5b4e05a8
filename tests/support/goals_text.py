"""A goals file of one valid goal (the plan's city revenue goal, in the file format's own
words), the base that the goals-file tests edit one key at a time."""

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
