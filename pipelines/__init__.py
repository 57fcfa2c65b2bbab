"""newsfold item pipelines: extraction -> grouping -> storage, each over a pure core."""
