import type { Random } from './random.ts';

/** Word lists for plausible, obviously fictional people, businesses and addresses. */
const GIVEN = [
  'Amy',
  'Bill',
  'Carla',
  'Dylan',
  'Elena',
  'Frank',
  'Grace',
  'Hector',
  'Irene',
  'Jamal',
  'Kathy',
  'Luis',
  'Maya',
  'Nolan',
  'Olivia',
  'Peter',
  'Quinn',
  'Rosa',
  'Sanjay',
  'Tara',
  'Umar',
  'Vera',
  'Wes',
  'Xena',
  'Yusuf',
  'Zoe',
  'Aaron',
  'Bianca',
  'Chen',
  'Dana',
  'Emeka',
  'Fiona',
  'Gus',
  'Hana',
  'Ivan',
  'Julia',
  'Kenji',
  'Lena',
  'Marco',
  'Nadia',
] as const;
const FAMILY = [
  'Lauterbach',
  'Lucchini',
  'Dukes',
  'Paulsen',
  'Waldron',
  'Williams',
  'Garcia',
  'Nguyen',
  'Okafor',
  'Schmidt',
  'Rossi',
  'Kowalski',
  'Tanaka',
  'Haddad',
  'Silva',
  'Murphy',
  'Novak',
  'Andersen',
  'Dubois',
  'Fischer',
  'Keller',
  'Moreau',
  'Patel',
  'Reyes',
  'Sato',
  'Varga',
  'Brennan',
  'Castillo',
  'Delgado',
  'Ellison',
  'Foster',
  'Gallagher',
  'Holt',
  'Iverson',
] as const;
const BUSINESS_HEAD = [
  "Amy's",
  'Bayshore',
  'Cedar',
  'Dukes',
  'Evergreen',
  'Foothill',
  'Golden Gate',
  'Harbor',
  'Ironwood',
  'Juniper',
  'Keystone',
  'Lakeside',
  'Maple',
  'Northgate',
  'Oakridge',
  'Pinecrest',
  'Quarry',
  'Redwood',
  'Summit',
  'Tidewater',
  'Union',
  'Valley',
  'Willow',
  'Yellowstone',
  'Sunrise',
  'Bluebird',
  'Copper',
  'Driftwood',
  'Elm Street',
  'Fairview',
  'Granite',
  'Hilltop',
] as const;
const BUSINESS_TRADE = [
  'Bird Sanctuary',
  'Windsurf Shop',
  'Basketball Camp',
  'Medical Supplies',
  'Landscaping',
  'Plumbing',
  'Bakery',
  'Coffee Roasters',
  'Dental Care',
  'Auto Repair',
  'Books',
  'Florist',
  'Fitness',
  'Hardware',
  'Pet Care',
  'Catering',
  'Design Studio',
  'Electric',
  'Roofing',
  'Printing',
  'Veterinary',
  'Yoga',
  'Brewing',
  'Tailoring',
  'Photography',
  'Cleaning',
] as const;
const BUSINESS_SUFFIX = ['', '', '', ' Inc.', ' LLC', ' & Co.', ' Group', ' Partners'] as const;
const VENDOR_TRADE = [
  'Lumber and Building Materials',
  'Office Supplies',
  'Telephone Company',
  'Gas and Electric',
  'Insurance',
  'Equipment Rental',
  'Freight',
  'Printing Services',
  'Software',
  'Accounting',
  'Legal Services',
  'Janitorial',
  'Fuel',
  'Uniforms',
  'Wholesale Nursery',
  'Water Utility',
] as const;
const STREETS = [
  'Main St.',
  'Court St.',
  'Finch St.',
  'Ocean Dr.',
  'Boise Ave',
  'Market St.',
  'Elm Ave',
  'Park Blvd',
  'Lake Rd',
  'Hill St.',
  'Mission St.',
  'Oak Ln',
  'Pine St.',
  'Sunset Blvd',
] as const;
/** City, state, postal code, latitude, longitude (approximate city centres). */
const CITIES = [
  ['Bayshore', 'CA', '94326', '37.7079', '-122.4006'],
  ['Half Moon Bay', 'CA', '94213', '37.4636', '-122.4286'],
  ['Palo Alto', 'CA', '94303', '37.4419', '-122.1430'],
  ['Middlefield', 'CA', '94304', '37.3989', '-122.1444'],
  ['Tucson', 'AZ', '85719', '32.2226', '-110.9747'],
  ['Portland', 'OR', '97205', '45.5152', '-122.6784'],
  ['Denver', 'CO', '80202', '39.7392', '-104.9903'],
  ['Austin', 'TX', '78701', '30.2672', '-97.7431'],
  ['Madison', 'WI', '53703', '43.0731', '-89.4012'],
  ['Burlington', 'VT', '05401', '44.4759', '-73.2121'],
  ['Boise', 'ID', '83702', '43.6150', '-116.2023'],
  ['Raleigh', 'NC', '27601', '35.7796', '-78.6382'],
] as const;
export const SERVICE_ITEMS = [
  'Design',
  'Installation',
  'Consulting',
  'Maintenance',
  'Pest Control',
  'Gardening',
  'Trimming',
  'Lighting',
  'Concrete',
  'Hours',
  'Training',
  'Inspection',
  'Repair',
  'Delivery',
] as const;
export const PRODUCT_ITEMS = [
  'Rock Fountain',
  'Rocks',
  'Sprinkler Heads',
  'Pump',
  'Soil',
  'Pipes',
  'Sod',
  'Mulch',
  'Garden Hose',
  'Planter Box',
  'Bird Bath',
  'Lamp Post',
  'Paver Stones',
  'Seed Mix',
] as const;
export const MEMOS = [
  'Thank you for your business and have a great day!',
  'Payment due within terms. Thank you!',
  'We appreciate your prompt payment.',
] as const;

export interface Person {
  given: string;
  family: string;
}

export const person = (r: Random): Person => ({ given: r.pick(GIVEN), family: r.pick(FAMILY) });

export const businessName = (r: Random): string =>
  `${r.pick(BUSINESS_HEAD)} ${r.pick(BUSINESS_TRADE)}${r.pick(BUSINESS_SUFFIX)}`;

export const vendorName = (r: Random): string => `${r.pick(BUSINESS_HEAD)} ${r.pick(VENDOR_TRADE)}`;

/** example.com-style domains (RFC 2606 reserves example.*), so no real inbox is ever hit. */
export function emailFor(name: string, index: number): string {
  const local =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '.')
      .replace(/^\.|\.$/g, '') || 'info';
  return `${local}.${index}@example.com`;
}

/** 555-01xx numbers are reserved for fiction in the North American plan. */
export const phone = (r: Random): string =>
  `(${r.int(201, 989)}) 555-01${String(r.int(0, 99)).padStart(2, '0')}`;

export interface Address {
  Id: string;
  Line1: string;
  City: string;
  CountrySubDivisionCode: string;
  PostalCode: string;
  Lat: string;
  Long: string;
}

export function address(r: Random, id: string): Address {
  const [city, state, zip, lat, long] = r.pick(CITIES);
  return {
    Id: id,
    Line1: `${r.int(1, 9999)} ${r.pick(STREETS)}`,
    City: city,
    CountrySubDivisionCode: state,
    PostalCode: zip,
    Lat: lat,
    Long: long,
  };
}
