// Parses a JSON request body and answers with it re-serialised.
export default {
  async fetch(request) {
    return Response.json(await request.json());
  },
};
