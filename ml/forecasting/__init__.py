"""App-activity forecasting: a small PyTorch Poisson model, statistical baselines and backtests."""
