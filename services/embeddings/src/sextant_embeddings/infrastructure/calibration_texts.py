"""Texts that calibrate and check the int8 backend: varied in topic, length and script.

Two disjoint sets: the calibration set sets the int8 ranges; the quality set, never seen
during calibration, is what the int8 vectors are compared with fp32 on before the service
accepts them.
"""

CALIBRATION_TEXTS: tuple[str, ...] = (
    "Quarterly revenue rose 8% while operating costs stayed flat.",
    "Which region had the highest churn in the last six months?",
    "The median order value fell after the discount campaign ended.",
    "Sales dropped in March; the team expects a recovery next quarter.",
    "Outliers were detected with the interquartile range rule.",
    "A weekly resample shows a steady upward trend in sign-ups.",
    "Correlation between price and units sold is strongly negative.",
    "Group the orders by country and sum the net amount per month.",
    "The warehouse in Lyon shipped 1,204 parcels on Tuesday.",
    "Customer satisfaction scores improved across all age groups.",
    "Inventory turnover is computed as cost of goods sold over average inventory.",
    "Please summarise the attached memo about the supplier contract.",
    "Latency p99 doubled after the deployment on Friday evening.",
    "The board approved a budget of 3.5 million euros for 2027.",
    "Ticket volume spikes every Monday morning between 9 and 11.",
    "Kafka partitions keep the order of messages that share a key.",
    "PostgreSQL stores the results; Redis keeps the checkpoints.",
    "An agent must call a tool instead of doing arithmetic in its head.",
    "Der Umsatz im Norden ist im Vergleich zum Vorjahr gestiegen.",
    "Les ventes ont baissé de dix pour cent au premier trimestre.",
    "Las devoluciones aumentaron después del cambio de proveedor.",
    "売上は前年同期比で五パーセント増加しました。",
    "数据显示第三季度的用户增长放缓。",
    "SELECT region, SUM(amount) FROM orders GROUP BY region;",
    "df.groupby('region')['amount'].sum().sort_values()",
    "Error: connection refused (errno 111) while fetching the report.",
    "ok",
    "Yes.",
    "Thanks!!! 👍",
    "N/A",
    "The study followed 2,300 patients for five years and found no significant effect "
    "of the treatment on readmission rates, although the subgroup over 65 showed a "
    "small improvement that the authors call exploratory.",
    "Our retention analysis splits customers into monthly cohorts by first purchase date, "
    "then tracks the share of each cohort that buys again in each following month; the "
    "April cohort retains noticeably better than the others.",
    "Energy consumption per unit fell by 14% after the new compressors were installed, "
    "but maintenance costs rose, so the net saving is closer to 6%.",
    "The forecast assumes stable exchange rates, no new competitors in the premium "
    "segment and a marketing spend in line with last year's.",
    "Remove duplicate rows before computing the average basket size.",
    "What share of the tickets were closed within 24 hours?",
    "Temperature anomalies in July were the largest on record for the station.",
    "The contract renews automatically unless cancelled 60 days in advance.",
    "Model accuracy is 0.91 on the validation set and 0.87 on the holdout.",
    "Shipping delays were concentrated in two ports during the strike.",
)

QUALITY_TEXTS: tuple[str, ...] = (
    "Net profit margin narrowed to 4.1% as freight costs climbed.",
    "The nurse recorded blood pressure every four hours overnight.",
    "Which product line sold the fewest units in the south-west?",
    "Short.",
    "Agents should compute every figure with a tool and cite where it came from.",
    "Die Lieferzeiten haben sich im Winter deutlich verlängert.",
    "大阪の店舗の売上は先月より減少しました。",
    "for row in rows: total += row['amount']",
    "😅 well... that did not go as planned???",
    "Remove the rows above the upper fence, then fit the trend again.",
    "Subscription cancellations dropped once the annual plan was introduced.",
    "Average delivery time improved from 4.2 to 3.1 days after the new routing rules, "
    "with the biggest gains in rural areas and almost no change in the capital.",
    "churn region quarter growth median outlier forecast cohort margin price unit",
    "Nein.",
    "The invoice total does not match the sum of its line items.",
    "Le modèle prévoit une hausse de la demande en décembre.",
)
