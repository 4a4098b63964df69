"""Where every artifact lives: the paths of a results tree, and which files to ask for."""
