"""A weekly sales report: the job whose image this lab slims down. Its output must not change."""

import pandas as pd

sales = pd.read_csv("sales.csv")
sales["revenue"] = sales["units"] * sales["unit_price"]
by_region = sales.groupby("region")["revenue"].sum().sort_values(ascending=False)
print(f"orders: {len(sales)}")
print(f"total revenue: {sales['revenue'].sum():.2f}")
print(f"best region: {by_region.index[0]} ({by_region.iloc[0]:.2f})")
