// Productpage bodies shaped like the real Bookinfo templates (istio/istio samples/bookinfo/src/productpage/templates/
// productpage.html for the Tailwind page of images 1.20.x; the Bootstrap page of images <= 1.19.1).

type Version = 'v1' | 'v2' | 'v3';
export interface PageOptions {
  version: Version;
  detailsError?: boolean;
  reviewsError?: boolean;
  ratingsError?: boolean;
  /** Leave out "Reviews served by:" (to exercise the star fallback). */
  noPodName?: boolean;
}

const POD = { v1: 'reviews-v1-598b896c9d-mmgrl', v2: 'reviews-v2-556d6457d-qslmz', v3: 'reviews-v3-564544b4d6-95xg2' };
const COLOR = { v1: undefined, v2: 'black', v3: 'red' } as const;

function tailwindStars(color: string, stars: number): string {
  const full =
    '<svg class="h-5 w-5 flex-none" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true"><path fill-rule="evenodd" d="M10.8 2.8z" clip-rule="evenodd" /></svg>\n';
  const empty =
    '<svg xmlns="http://www.w3.org/2000/svg" fill="none" viewBox="0 0 24 24" stroke-width="1.5" stroke="currentColor" class="h-5 w-5 flex-none"><path d="M11.4 3.4Z" /></svg>\n';
  return `<div class="flex gap-x-1 text-${color}-500">\n${full.repeat(stars)}${empty.repeat(5 - stars)}</div>`;
}

export function tailwindPage(o: PageOptions): string {
  const details = o.detailsError
    ? '<p class="text-2xl text-red-500">Error fetching product details</p>\n<p class="text-lg text-gray-600">Sorry, product details are currently unavailable for this book.</p>'
    : '<h4 class="text-3xl font-semibold">Book Details</h4><table class="min-w-full divide-y divide-gray-300"><tr><td>1234567890</td><td>PublisherA</td><td>200</td><td>paperback</td><td>English</td></tr></table>';
  const color = COLOR[o.version];
  const review = (reviewer: string, text: string, stars: number) => {
    const rating =
      color === undefined ? '' : o.ratingsError ? '<p class="text-red-500">Ratings service is currently unavailable</p>' : tailwindStars(color, stars);
    const servedBy = o.noPodName
      ? ''
      : `<div class="mt-0.5 text-gray-600 font-mono">Reviews served by: \n                  ${POD[o.version]}\n                  \n                </div>`;
    return `<section class="px-6 py-12 sm:py-8 lg:px-8">\n<div class="mx-auto max-w-2xl">\n${rating}\n<blockquote class="mt-10 text-xl font-semibold"><p>"${text}"</p></blockquote>\n<div class="mt-4 flex items-center gap-x-6"><img class="h-16 w-16 rounded-full bg-gray-50" src="/static/img/izzy.png" alt="Izzy">\n<div class="text-sm leading-6"><div class="font-semibold text-gray-900">${reviewer}</div>\n${servedBy}</div></div></section>`;
  };
  const reviews = o.reviewsError
    ? '<p class="text-2xl text-red-500">Error fetching product reviews</p>\n<p class="text-lg text-gray-600">Sorry, product reviews are currently unavailable for this book.</p>'
    : `<h4 class="text-3xl font-semibold">Book Reviews</h4>\n<div class="flex flex-col md:flex-row">\n${review('Reviewer1', 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!', 5)}\n${review('Reviewer2', 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.', 4)}</div>`;
  return `<meta charset="utf-8">\n<title>Simple Bookstore App</title>\n<script src="static/tailwind/tailwind.css"></script>\n<nav class="bg-gray-800"><a href="#" class="text-white px-3 py-2 text-lg font-medium">BookInfo Sample</a><button type="button" id="sign-in-button" class="rounded-md bg-blue-600">Sign in</button></nav>\n<div class="container mt-8 mx-auto px-4"><h1 class="text-5xl font-bold tracking-tight text-blue-900">The Comedy of Errors</h1></div>\n<div class="container mt-8 mx-auto px-4"><div class="flow-root">${details}</div></div>\n<div class="bg-blue-600/5 py-12 mx-auto"><div class="container mx-auto px-4 sm:px-6 lg:px-8><div class="max-w-2xl">\n${reviews}\n</div></div></div>`;
}

export function bootstrapPage(o: PageOptions): string {
  const details = o.detailsError
    ? '<h6 class="text-center text-primary">Error fetching product details!</h6>\n<p>Sorry, product details are currently unavailable for this book.</p>'
    : '<h4 class="text-center text-primary">Book Details</h4>\n<dl><dt>Type:</dt>paperback<dt>Pages:</dt>200<dt>Publisher:</dt>PublisherA</dl>';
  const color = COLOR[o.version];
  const stars = (n: number) =>
    color === undefined
      ? ''
      : o.ratingsError
        ? '<p><i>Ratings service is currently unavailable</i></p>'
        : `<font color="${color}">\n<!-- full stars: -->\n${'<span class="glyphicon glyphicon-star"></span>\n'.repeat(n)}<!-- empty stars: -->\n${'<span class="glyphicon glyphicon-star-empty"></span>\n'.repeat(5 - n)}</font>`;
  const reviews = o.reviewsError
    ? '<h6 class="text-center text-primary">Error fetching product reviews!</h6>\n<p>Sorry, product reviews are currently unavailable for this book.</p>'
    : `<h4 class="text-center text-primary">Book Reviews</h4>\n<blockquote>\n<p>An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!</p>\n<small>Reviewer1</small>\n${stars(5)}\n</blockquote>\n<blockquote>\n<p>Absolutely fun and entertaining.</p>\n<small>Reviewer2</small>\n${stars(4)}\n</blockquote>\n${o.noPodName ? '' : `<dl>\n<dt>Reviews served by:</dt>\n<u>${POD[o.version]}</u>\n</dl>`}`;
  return `<!DOCTYPE html>\n<html>\n<head><title>Simple Bookstore App</title><link rel="stylesheet" href="static/bootstrap/css/bootstrap.min.css"></head>\n<body>\n<nav class="navbar navbar-inverse navbar-static-top"><a class="navbar-brand" href="#">BookInfo Sample</a><button type="button" class="btn btn-default navbar-btn pull-right" data-toggle="modal" data-target="#login-modal">Sign in</button></nav>\n<div class="container-fluid">\n<div class="row"><div class="col-md-12"><h3 class="text-center text-primary">The Comedy of Errors</h3></div></div>\n<div class="row">\n<div class="col-md-6">${details}</div>\n<div class="col-md-6">${reviews}</div>\n</div></div>\n</body>\n</html>`;
}

/** `/api/v1/products/0/reviews` (productpage) or `/reviews/0` (reviews), as the Java reviews service writes it. */
export function reviewsJson(o: PageOptions): string {
  const color = COLOR[o.version];
  const rating = (stars: number) =>
    color === undefined ? {} : { rating: o.ratingsError ? { error: 'Ratings service is currently unavailable' } : { stars, color } };
  return JSON.stringify({
    id: '0',
    podname: o.noPodName ? undefined : POD[o.version],
    clustername: 'null',
    reviews: [
      { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare.', ...rating(5) },
      { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining.', ...rating(4) },
    ],
  });
}
