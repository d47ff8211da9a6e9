// Commit subjects read in one line of `git log --oneline`, GitHub's commit lists and mail
// subjects, all of which cut or wrap past about 72 characters. Only that rule: the subjects here
// are plain sentences, not Conventional Commits.
export default {
  rules: {
    'header-max-length': [2, 'always', 72],
  },
};
