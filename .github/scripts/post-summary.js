// Posts a Markdown summary as one pull-request comment, updated in place on later runs (found by its marker).
const fs = require('fs');

module.exports = async ({ github, context, marker, file }) => {
  let body = `${marker}\n${fs.readFileSync(file, 'utf8')}`;
  if (body.length > 65000) {
    body = body.slice(0, 65000) + '\n\n… cut here: the whole summary is in the job summary.\n';
  }
  const { owner, repo } = context.repo;
  const issue_number = context.issue.number;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number });
  const previous = comments.find((c) => c.body && c.body.startsWith(marker));
  if (previous) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body });
  } else {
    await github.rest.issues.createComment({ owner, repo, issue_number, body });
  }
};
