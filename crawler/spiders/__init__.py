"""newsfold spiders: each turns one kind of source into `ArticleItem`s."""
