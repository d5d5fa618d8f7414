// The product page as the Tailwind template of Bookinfo images 1.20.x renders it
// (istio/istio samples/bookinfo/src/productpage/templates/productpage.html): same structure and markers —
// "Reviews served by:" + pod name per review, star SVGs in `flex gap-x-1 text-<color>-500`, and the error texts.
import { valueText } from '../../../spec/untyped.ts';

export interface Review {
  reviewer: string;
  text: string;
  rating?: { stars?: number; color?: string; error?: string };
}

export interface PageModel {
  user: string;
  detailsStatus: number;
  details: Record<string, unknown>;
  reviewsStatus: number;
  reviews: { podname?: string; clustername?: string; reviews?: Review[]; error?: string };
}

export function escapeHtml(value: unknown): string {
  return valueText(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&#34;')
    .replace(/'/g, '&#39;');
}

const description =
  '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.';

const fullStar = `
              <svg class="h-5 w-5 flex-none" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true">
                <path fill-rule="evenodd" d="M10.868 2.884c-.321-.772-1.415-.772-1.736 0l-1.83 4.401-4.753.381c-.833.067-1.171 1.107-.536 1.651l3.62 3.102-1.106 4.637c-.194.813.691 1.456 1.405 1.02L10 15.591l4.069 2.485c.713.436 1.598-.207 1.404-1.02l-1.106-4.637 3.62-3.102c.635-.544.297-1.584-.536-1.65l-4.752-.382-1.831-4.401z" clip-rule="evenodd" />
              </svg>`;
const emptyStar = `
              <svg xmlns="http://www.w3.org/2000/svg" fill="none" viewBox="0 0 24 24" stroke-width="1.5" stroke="currentColor" class="h-5 w-5 flex-none">
                <path stroke-linecap="round" stroke-linejoin="round" d="M11.48 3.499a.562.562 0 0 1 1.04 0l2.125 5.111a.563.563 0 0 0 .475.345l5.518.442c.499.04.701.663.321.988l-4.204 3.602a.563.563 0 0 0-.182.557l1.285 5.385a.562.562 0 0 1-.84.61l-4.725-2.885a.562.562 0 0 0-.586 0L6.982 20.54a.562.562 0 0 1-.84-.61l1.285-5.386a.562.562 0 0 0-.182-.557l-4.204-3.602a.562.562 0 0 1 .321-.988l5.518-.442a.563.563 0 0 0 .475-.345L11.48 3.5Z" />
              </svg>`;

const head = `
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1.0">


<title>Simple Bookstore App</title>

<script src="static/tailwind/tailwind.css"></script>
<script type="text/javascript">
  window.addEventListener("DOMContentLoaded", (event) => {
    const dialog = document.querySelector("dialog");
    const showButton = document.querySelector("#sign-in-button");
    const closeButton = document.querySelector("#close-dialog");

    if (showButton) {
      showButton.addEventListener("click", () => {
        dialog.showModal();
      });
    }

    if (closeButton) {
      closeButton.addEventListener("click", () => {
        dialog.close();
      });
    }
  })
</script>
`;

function nav(user: string): string {
  const right = user
    ? `
        <a href="#" class="group block flex-shrink-0">
          <div class="flex items-center">
            <div>
              <img class="inline-block h-9 w-9 rounded-full bg-blue-50" src="/static/img/izzy.png" alt="">
            </div>
            <div class="ml-4">
              <p class="text-base font-medium text-gray-50">${escapeHtml(user)}</p>
              <a href="logout" class="text-xs font-medium text-gray-400 hover:text-gray-300">Sign out</a>
            </div>
          </div>
        </a>`
    : `
          <button type="button" id="sign-in-button" class="rounded-md bg-blue-600 px-3.5 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-blue-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600">
            Sign in
          </button>`;
  return `
<nav class="bg-gray-800">
  <div class="container mx-auto px-4 sm:px-6 lg:px-8">
    <div class="relative flex h-16 items-center justify-between">
      <a href="#" class="text-white px-3 py-2 text-lg font-medium" aria-current="page">BookInfo Sample</a>
      <div class="absolute inset-y-0 right-0 flex items-center pr-2 sm:static sm:inset-auto sm:ml-6 sm:pr-0">${right}
      </div>
    </div>
  </div>
</nav>
`;
}

const dialog = `
<!-- Sign in dialog -->
<dialog id="dialog" class="w-full sm:w-2/3 lg:w-1/3 border rounded-md shadow-xl">
  <div class="flex min-h-full flex-col justify-center px-6 py-12 lg:px-8">
    <div class="sm:mx-auto sm:w-full sm:max-w-sm">
        <h2 class="mt-5 text-center text-2xl font-bold leading-9 tracking-tight text-gray-900">Sign in to BookInfo</h2>
    </div>
    <div class="mt-10 sm:mx-auto sm:w-full sm:max-w-sm">
      <form class="space-y-6" method="post" action='login' name="login_form">
        <div>
          <label for="email" class="block text-sm font-medium leading-6 text-gray-900">Username</label>
          <div class="mt-2">
            <input id="username" name="username" required class="block w-full px-3 rounded-md border-0 py-1.5 text-gray-900 shadow-sm ring-1 ring-inset ring-gray-300">
          </div>
        </div>
        <div>
          <label for="password" class="block text-sm font-medium leading-6 text-gray-900">Password</label>
          <div class="mt-2">
            <input id="password" name="passwd" type="password" required class="block w-full px-3 rounded-md border-0 py-1.5 text-gray-900 shadow-sm ring-1 ring-inset ring-gray-300">
          </div>
        </div>
        <div>
          <button type="submit" class="flex w-full justify-center rounded-md bg-blue-600 px-3 py-1.5 text-sm font-semibold leading-6 text-white shadow-sm hover:bg-blue-500">Sign in</button>
        </div>
      </form>
    </div>
  </div>
</dialog>
`;

const bookSection = `
<!-- Book description section -->
<div class="container mt-8 mx-auto px-4 sm:px-6 lg:px-8">
  <h1 class="text-5xl font-bold tracking-tight text-blue-900">The Comedy of Errors</h1>
  <div class="mt-6 max-w-4xl">
    <p class="mt-6 text-xl leading-8 text-gray-600">${description}</p>
    <div class="mt-6">
      <a href="https://istio.io" target="_blank" class="text-sm font-semibold leading-6 text-blue-600 hover:text-blue-700">Learn more about Istio <span aria-hidden="true">→</span></a>
    </div>
  </div>
</div>
`;

function detailsSection(status: number, details: Record<string, unknown>): string {
  const inner =
    status === 200
      ? `
          <h4 class="text-3xl font-semibold">Book Details</h4>
          <div class="-mx-4 -my-2 overflow-x-auto sm:-mx-6 lg:-mx-8">
            <div class="inline-block min-w-full py-2 align-middle sm:px-6 lg:px-8">
              <table class="min-w-full divide-y divide-gray-300">
                <thead>
                  <tr>
                    <th scope="col" class="whitespace-nowrap py-3.5 pl-4 pr-3 text-left text-sm font-semibold text-gray-900 sm:pl-0">ISBN-10</th>
                    <th scope="col" class="whitespace-nowrap px-2 py-3.5 text-left text-sm font-semibold text-gray-900">Publisher</th>
                    <th scope="col" class="whitespace-nowrap px-2 py-3.5 text-left text-sm font-semibold text-gray-900">Pages</th>
                    <th scope="col" class="whitespace-nowrap px-2 py-3.5 text-left text-sm font-semibold text-gray-900">Type</th>
                    <th scope="col" class="whitespace-nowrap px-2 py-3.5 text-left text-sm font-semibold text-gray-900">Language</th>
                  </tr>
                </thead>
                <tbody class="divide-y divide-gray-200 bg-white">
                  <tr>
                    <td class="whitespace-nowrap py-2 pl-4 pr-3 text-sm text-gray-500 sm:pl-0">${escapeHtml(details['ISBN-10'])}</td>
                    <td class="whitespace-nowrap px-2 py-2 text-sm font-medium text-gray-900">${escapeHtml(details.publisher)}</td>
                    <td class="whitespace-nowrap px-2 py-2 text-sm text-gray-900">${escapeHtml(details.pages)}</td>
                    <td class="whitespace-nowrap px-2 py-2 text-sm text-gray-500">${escapeHtml(details.type)}</td>
                    <td class="whitespace-nowrap px-2 py-2 text-sm text-gray-500">${escapeHtml(details.language)}</td>
                  </tr>
                </tbody>
              </table>
            </div>
          </div>`
      : `
          <p class="text-2xl text-red-500">Error fetching product details</p>
          <p class="text-lg text-gray-600">${escapeHtml(details.error)}</p>`;
  return `
<!-- Book details table -->
<div class="container mt-8 mx-auto px-4 sm:px-6 lg:px-8">
  <div class="mt-4 py-10">
      <div class="max-w-2xl">
        <div class="flow-root">${inner}
        </div>
      </div>
  </div>
</div>
`;
}

function reviewBlock(review: Review, podname: string, clustername: string): string {
  let rating = '';
  if (review.rating) {
    if (review.rating.stars) {
      const stars = review.rating.stars;
      rating = `
            <div class="flex gap-x-1 text-${escapeHtml(review.rating.color)}-500">${fullStar.repeat(stars)}${emptyStar.repeat(Math.max(0, 5 - stars))}
            </div>`;
    } else if (review.rating.error) {
      rating = `
            <p class="text-red-500">${escapeHtml(review.rating.error)}</p>`;
    }
  }
  const cluster =
    clustername !== 'null'
      ? `
                  on cluster <div>${escapeHtml(clustername)}</div>`
      : '';
  return `
        <section class="px-6 py-12 sm:py-8 lg:px-8">
          <div class="mx-auto max-w-2xl">${rating}
            <blockquote class="mt-10 text-xl font-semibold leading-8 tracking-tight text-gray-900 sm:text-2xl sm:leading-9">
              <p>"${escapeHtml(review.text)}"</p>
            </blockquote>
            <div class="mt-4 flex items-center gap-x-6">
              <img class="h-16 w-16 rounded-full bg-gray-50" src="/static/img/izzy.png" alt="Izzy">
  
              <div class="text-sm leading-6">
                <div class="font-semibold text-gray-900">${escapeHtml(review.reviewer)}</div>
                <div class="mt-0.5 text-gray-600 font-mono">Reviews served by: 
                  ${escapeHtml(podname)}${cluster}
                </div>
              </div>
            </div>
        </section>`;
}

function reviewsSection(status: number, reviews: PageModel['reviews']): string {
  const inner =
    status === 200
      ? `
      <h4 class="text-3xl font-semibold">Book Reviews</h4>
      <div class="flex flex-col md:flex-row">${(reviews.reviews ?? []).map((r) => reviewBlock(r, reviews.podname ?? '', reviews.clustername ?? 'null')).join('')}
      </div>`
      : `
      <p class="text-2xl text-red-500">Error fetching product reviews</p>
      <p class="text-lg text-gray-600">${escapeHtml(reviews.error)}</p>`;
  return `
<!-- Book reviews section -->
<div class="bg-blue-600/5 py-12 mx-auto" >
  <div class="container mx-auto px-4 sm:px-6 lg:px-8>
    <div class="max-w-2xl">${inner}
    </div>
    </div>
  </div>
</div>
`;
}

export function renderProductPage(model: PageModel): string {
  return `${head}
${nav(model.user)}${dialog}${bookSection}${detailsSection(model.detailsStatus, model.details)}${reviewsSection(model.reviewsStatus, model.reviews)}
`;
}

/**
 * templates/index.html: its own blocks (metas, a table style, the Tailwind script, the content), not the product
 * page's head: no <title>, no sign-in dialog.
 */
export function renderIndexPage(): string {
  return `
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1">


<style>
    table { color: #333; background: white; border: 1px solid grey; font-size: 12pt; border-collapse: collapse; width: 100%; }
    table thead th, table tfoot th { color: #fff; background: #466BB0; }
    table caption { padding: .5em; }
    table th, table td { padding: .5em; border: 1px solid lightgrey; }
</style>


<script src="static/tailwind/tailwind.css"></script>


<div class="mx-auto px-4 sm:px-6 lg:px-8">
    <div class="flex flex-col space-y-5 py-32 mx-auto max-w-7xl">
        <h3 class="text-2xl">Hello! This is a simple bookstore application consisting of three services as shown below
        </h3>
        <table class="table table-condensed table-bordered table-hover"><tr><th>name</th><td>http://details:9080</td></tr><tr><th>endpoint</th><td>details</td></tr><tr><th>children</th><td><table class="table table-condensed table-bordered table-hover"><thead><tr><th>name</th><th>endpoint</th><th>children</th></tr></thead><tbody><tr><td>http://details:9080</td><td>details</td><td></td></tr><tr><td>http://reviews:9080</td><td>reviews</td><td><table class="table table-condensed table-bordered table-hover"><thead><tr><th>name</th><th>endpoint</th><th>children</th></tr></thead><tbody><tr><td>http://ratings:9080</td><td>ratings</td><td></td></tr></tbody></table></td></tr></tbody></table></td></tr></table>
        <p>
            Click on one of the links below to auto generate a request to the backend as a real user or a tester
        </p>
        <ul>
            <li>
                <a href="/productpage?u=normal" class="text-blue-500 hover:text-blue-600">Normal user</a>
            </li>
            <li>
                <a href="/productpage?u=test" class="text-blue-500 hover:text-blue-600">Test user</a>
            </li>
        </ul>
    </div>
</div>
`;
}
