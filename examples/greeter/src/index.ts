interface Env {
  GREETING: string;
  API_TOKEN: string;
}

export default {
  fetch(request: Request, env: Env): Response {
    const url = new URL(request.url);
    if (url.searchParams.get("token") !== env.API_TOKEN) {
      return new Response("pass ?token= to be greeted\n", { status: 401 });
    }
    const name = url.searchParams.get("name") ?? "world";
    return new Response(`${env.GREETING}, ${name}!\n`);
  },
};
